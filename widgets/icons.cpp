// Icons and translations from the embedded resources.
#include "widgets/icons.h"

#include <QApplication>
#include <QFile>
#include <QHash>
#include <QLibraryInfo>
#include <QPainter>
#include <QPalette>
#include <QPixmap>
#include <QSvgRenderer>
#include <QTranslator>

// Q_INIT_RESOURCE must be expanded outside any namespace.
static void recalignInitResourcesImpl()
{
    Q_INIT_RESOURCE(resources);
}

namespace recalign::widgets {

void initResources()
{
    static const bool kDone = [] {
        recalignInitResourcesImpl();
        return true;
    }();
    (void)kDone;
}

QIcon icon(const QString& name)
{
    initResources();
    const QColor fg = QApplication::palette().color(QPalette::WindowText);
    static QHash<QString, QIcon> cache;
    const QString key = name + QLatin1Char('|') + fg.name();
    if (const auto it = cache.constFind(key); it != cache.constEnd())
        return *it;
    QFile f(QStringLiteral(":/icons/%1.svg").arg(name));
    if (!f.open(QIODevice::ReadOnly))
        return {};
    QByteArray svg = f.readAll();
    svg.replace("currentColor", fg.name().toLatin1());
    QSvgRenderer renderer(svg);
    QIcon result;
    for (int size : {16, 20, 24, 32, 48, 64}) {
        QPixmap pm(size, size);
        pm.fill(Qt::transparent);
        QPainter painter(&pm);
        renderer.render(&painter);
        painter.end();
        result.addPixmap(pm);
        if (size <= 32) {  // a faded variant for disabled actions
            QPixmap faded(size, size);
            faded.fill(Qt::transparent);
            QPainter p2(&faded);
            p2.setOpacity(0.35);
            p2.drawPixmap(0, 0, pm);
            p2.end();
            result.addPixmap(faded, QIcon::Disabled);
        }
    }
    cache.insert(key, result);
    return result;
}

QString translationResource(const QString& language)
{
    const QString path = QStringLiteral(":/i18n/recalign_%1.qm").arg(language);
    return QFile::exists(path) ? path : QString();
}

bool installTranslation(const QString& language)
{
    static QTranslator* appTranslator = nullptr;
    static QTranslator* qtTranslator = nullptr;
    auto* app = QCoreApplication::instance();
    if (!app)
        return false;
    for (QTranslator** t : {&appTranslator, &qtTranslator}) {
        if (*t) {
            QCoreApplication::removeTranslator(*t);
            delete *t;
            *t = nullptr;
        }
    }
    if (language.isEmpty() || language == QLatin1String("en"))
        return true;
    const QString path = translationResource(language);
    if (path.isEmpty())
        return false;
    appTranslator = new QTranslator(app);
    if (!appTranslator->load(path)) {
        delete appTranslator;
        appTranslator = nullptr;
        return false;
    }
    QCoreApplication::installTranslator(appTranslator);
    qtTranslator = new QTranslator(app);
    if (qtTranslator->load(QStringLiteral("qtbase_") + language,
                           QLibraryInfo::path(QLibraryInfo::TranslationsPath))) {
        QCoreApplication::installTranslator(qtTranslator);
    } else {
        delete qtTranslator;
        qtTranslator = nullptr;
    }
    return true;
}

}  // namespace recalign::widgets

// Light and dark palettes and the shared widget colours.
#include "widgets/theme.h"

#include <QApplication>
#include <QStyleFactory>

namespace recalign::widgets {

QPalette paletteFor(Theme theme)
{
    QPalette p;
    if (theme == Theme::Dark) {
        const QColor window(37, 40, 46), base(28, 30, 35), text(222, 226, 232), accent(86, 156, 214);
        const QColor disabled(120, 126, 136);
        p.setColor(QPalette::Window, window);
        p.setColor(QPalette::WindowText, text);
        p.setColor(QPalette::Base, base);
        p.setColor(QPalette::AlternateBase, QColor(33, 36, 42));
        p.setColor(QPalette::Text, text);
        p.setColor(QPalette::Button, QColor(47, 51, 58));
        p.setColor(QPalette::ButtonText, text);
        p.setColor(QPalette::BrightText, QColor(255, 120, 110));
        p.setColor(QPalette::Highlight, accent);
        p.setColor(QPalette::HighlightedText, Qt::white);
        p.setColor(QPalette::ToolTipBase, QColor(50, 54, 62));
        p.setColor(QPalette::ToolTipText, text);
        p.setColor(QPalette::PlaceholderText, QColor(140, 146, 156));
        p.setColor(QPalette::Link, QColor(110, 170, 240));
        p.setColor(QPalette::Light, QColor(70, 75, 84));
        p.setColor(QPalette::Midlight, QColor(58, 62, 70));
        p.setColor(QPalette::Mid, QColor(30, 32, 37));
        p.setColor(QPalette::Dark, QColor(22, 24, 28));
        p.setColor(QPalette::Shadow, QColor(10, 10, 12));
        p.setColor(QPalette::Disabled, QPalette::Text, disabled);
        p.setColor(QPalette::Disabled, QPalette::WindowText, disabled);
        p.setColor(QPalette::Disabled, QPalette::ButtonText, disabled);
    } else {
        const QColor window(246, 247, 249), base(255, 255, 255), text(30, 33, 38), accent(41, 112, 204);
        p.setColor(QPalette::Window, window);
        p.setColor(QPalette::WindowText, text);
        p.setColor(QPalette::Base, base);
        p.setColor(QPalette::AlternateBase, QColor(243, 245, 248));
        p.setColor(QPalette::Text, text);
        p.setColor(QPalette::Button, QColor(250, 251, 252));
        p.setColor(QPalette::ButtonText, text);
        p.setColor(QPalette::Highlight, accent);
        p.setColor(QPalette::HighlightedText, Qt::white);
        p.setColor(QPalette::ToolTipBase, base);
        p.setColor(QPalette::ToolTipText, text);
        p.setColor(QPalette::PlaceholderText, QColor(130, 136, 146));
    }
    return p;
}

void applyTheme(QApplication& app, Theme theme)
{
    if (QStyle* fusion = QStyleFactory::create(QStringLiteral("Fusion")))
        QApplication::setStyle(fusion);
    const QPalette p = paletteFor(theme);
    QApplication::setPalette(p);
    const QString border = theme == Theme::Dark ? QStringLiteral("#4a505a") : QStringLiteral("#c9ced6");
    const QString err = errorTextColor(p).name();
    app.setStyleSheet(QStringLiteral(
        "QToolTip { border: 1px solid %1; padding: 4px; }"
        "QGroupBox { font-weight: 600; margin-top: 14px; padding-top: 6px; }"
        "QGroupBox::title { subcontrol-origin: margin; left: 6px; padding: 0 4px; }"
        "QLineEdit[invalid=\"true\"] { border: 1px solid %2; border-radius: 3px; padding: 1px 2px; }")
                          .arg(border, err));
}

bool isDark(const QPalette& palette)
{
    return palette.color(QPalette::Window).lightness() < 128;
}

QColor seriesColor(int index, const QPalette& palette)
{
    // Tableau 10, slightly brightened on dark backgrounds.
    static const QColor kColors[] = {
        QColor(31, 119, 180), QColor(255, 127, 14), QColor(44, 160, 44), QColor(214, 39, 40),
        QColor(148, 103, 189), QColor(140, 86, 75), QColor(227, 119, 194), QColor(127, 127, 127),
        QColor(188, 189, 34), QColor(23, 190, 207)};
    const int n = static_cast<int>(sizeof(kColors) / sizeof(kColors[0]));
    QColor c = kColors[((index % n) + n) % n];
    return isDark(palette) ? c.lighter(130) : c;
}

PlotColors plotColorsFor(const QPalette& palette)
{
    PlotColors c;
    c.background = palette.color(QPalette::Base);
    c.text = palette.color(QPalette::Text);
    c.axis = palette.color(QPalette::Text);
    c.axis.setAlpha(170);
    c.grid = palette.color(QPalette::Text);
    c.grid.setAlpha(isDark(palette) ? 38 : 30);
    c.legendBackground = palette.color(QPalette::Base);
    c.legendBackground.setAlpha(215);
    return c;
}

QColor errorTextColor(const QPalette& palette)
{
    return isDark(palette) ? QColor(255, 120, 110) : QColor(192, 41, 43);
}

}  // namespace recalign::widgets

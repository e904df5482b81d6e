// Themed icons (see themed_icons.h).
#include "app/studio/themed_icons.h"

#include "widgets/icons.h"

#include <QAbstractButton>
#include <QAction>
#include <QTabWidget>

namespace recalign::studio {

namespace themed_icons_detail {
constexpr const char* kIconProperty = "recalignIcon";
constexpr const char* kTabIconsProperty = "recalignTabIcons";
}  // namespace themed_icons_detail

QAction* withIcon(QAction* action, const QString& name)
{
    action->setProperty(themed_icons_detail::kIconProperty, name);
    action->setIcon(widgets::icon(name));
    return action;
}

QAbstractButton* withIcon(QAbstractButton* button, const QString& name)
{
    button->setProperty(themed_icons_detail::kIconProperty, name);
    button->setIcon(widgets::icon(name));
    return button;
}

void setThemedTabIcon(QTabWidget* tabs, int index, const QString& name)
{
    QStringList names = tabs->property(themed_icons_detail::kTabIconsProperty).toStringList();
    while (names.size() <= index)
        names << QString();
    names[index] = name;
    tabs->setProperty(themed_icons_detail::kTabIconsProperty, names);
    tabs->setTabIcon(index, widgets::icon(name));
}

void refreshThemedIcons(QWidget* root)
{
    using namespace themed_icons_detail;
    for (QAction* a : root->findChildren<QAction*>())
        if (const QString name = a->property(kIconProperty).toString(); !name.isEmpty())
            a->setIcon(widgets::icon(name));
    for (QAbstractButton* b : root->findChildren<QAbstractButton*>())
        if (const QString name = b->property(kIconProperty).toString(); !name.isEmpty())
            b->setIcon(widgets::icon(name));
    for (QTabWidget* t : root->findChildren<QTabWidget*>()) {
        const QStringList names = t->property(kTabIconsProperty).toStringList();
        for (int i = 0; i < names.size() && i < t->count(); ++i)
            if (!names[i].isEmpty())
                t->setTabIcon(i, widgets::icon(names[i]));
    }
}

}  // namespace recalign::studio

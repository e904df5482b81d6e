// Icons that follow the theme. widgets::icon() renders an SVG in the palette's text colour, so
// an icon made under the light theme is wrong under the dark one. These helpers remember each
// icon's name on its action / button / tab, and refreshThemedIcons() renders them again after a
// palette change.
#pragma once

#include <QString>

class QAbstractButton;
class QAction;
class QTabWidget;
class QWidget;

namespace recalign::studio {

QAction* withIcon(QAction* action, const QString& name);
QAbstractButton* withIcon(QAbstractButton* button, const QString& name);
void setThemedTabIcon(QTabWidget* tabs, int index, const QString& name);
// Re-renders every remembered icon under `root` for the current palette.
void refreshThemedIcons(QWidget* root);

}  // namespace recalign::studio

// The application's icon set (resources/icons/*.svg) and translations (:/i18n/*.qm).
// Monochrome icons use "currentColor", which is replaced by the palette's text colour.
#pragma once

#include <QIcon>
#include <QString>

namespace recalign::widgets {

// Registers the icon resources compiled into recalign_widgets. Idempotent; call once from main()
// (and tests) before the first icon() call.
void initResources();

// ":/icons/<name>.svg" rendered for the current application palette (cached per name and
// palette). A null icon for an unknown name.
QIcon icon(const QString& name);

// The embedded translation file for a language ("es"), or an empty string when there is none.
QString translationResource(const QString& language);

// Installs the application translation for `language` (and Qt's own, when installed) on the
// running QCoreApplication, replacing any installed earlier. "en" or "" removes them.
bool installTranslation(const QString& language);

}  // namespace recalign::widgets

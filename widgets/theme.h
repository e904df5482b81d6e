// Light and dark palettes for the application.
#pragma once

#include <QPalette>

namespace recalign::widgets {

enum class Theme { Light, Dark };
QPalette paletteFor(Theme theme);

}  // namespace recalign::widgets

// Light and dark palettes for the application, and the colours the widgets share (series,
// plot chrome, badges), so every widget follows the active palette.
#pragma once

#include <QColor>
#include <QPalette>

class QApplication;

namespace recalign::widgets {

enum class Theme { Light, Dark };
QPalette paletteFor(Theme theme);

// Fusion style, the palette and a small style sheet (spacing, tooltips, invalid fields).
void applyTheme(QApplication& app, Theme theme);

// True when the palette's window colour is dark.
bool isDark(const QPalette& palette);

// A categorical colour for the index-th series (10 colours that stay apart on both themes).
QColor seriesColor(int index, const QPalette& palette);

// Colours of a plot's chrome for a palette.
struct PlotColors {
    QColor background;
    QColor axis;      // axis lines and tick labels
    QColor grid;      // major grid
    QColor text;      // titles and legend text
    QColor legendBackground;
};
PlotColors plotColorsFor(const QPalette& palette);

// Text colour for error labels next to fields.
QColor errorTextColor(const QPalette& palette);

}  // namespace recalign::widgets

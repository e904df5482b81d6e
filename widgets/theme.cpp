// Light and dark palettes.
#include "widgets/theme.h"

namespace recalign::widgets {

QPalette paletteFor(Theme theme)
{
    QPalette p;
    if (theme == Theme::Dark) {
        const QColor window(37, 40, 46), base(28, 30, 35), text(222, 226, 232), accent(86, 156, 214);
        p.setColor(QPalette::Window, window);
        p.setColor(QPalette::WindowText, text);
        p.setColor(QPalette::Base, base);
        p.setColor(QPalette::AlternateBase, window);
        p.setColor(QPalette::Text, text);
        p.setColor(QPalette::Button, window);
        p.setColor(QPalette::ButtonText, text);
        p.setColor(QPalette::Highlight, accent);
        p.setColor(QPalette::HighlightedText, Qt::white);
        p.setColor(QPalette::ToolTipBase, base);
        p.setColor(QPalette::ToolTipText, text);
        p.setColor(QPalette::PlaceholderText, QColor(140, 146, 156));
    } else {
        const QColor window(246, 247, 249), base(255, 255, 255), text(30, 33, 38), accent(41, 112, 204);
        p.setColor(QPalette::Window, window);
        p.setColor(QPalette::WindowText, text);
        p.setColor(QPalette::Base, base);
        p.setColor(QPalette::AlternateBase, QColor(240, 242, 245));
        p.setColor(QPalette::Text, text);
        p.setColor(QPalette::Button, window);
        p.setColor(QPalette::ButtonText, text);
        p.setColor(QPalette::Highlight, accent);
        p.setColor(QPalette::HighlightedText, Qt::white);
        p.setColor(QPalette::ToolTipBase, base);
        p.setColor(QPalette::ToolTipText, text);
    }
    return p;
}

}  // namespace recalign::widgets

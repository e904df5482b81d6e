// SettingsDialog: language (English / Spanish), theme (light / dark) and torch threads. Reads
// and writes AppSettings; the caller applies language and theme at once (threads at the next
// start, since torch's intra-op pool is set once per process).
#pragma once

#include "widgets/theme.h"

#include <QDialog>

class QComboBox;
class QLabel;
class QSpinBox;

namespace recalign::studio {

class SettingsDialog : public QDialog {
    Q_OBJECT
public:
    explicit SettingsDialog(QWidget* parent = nullptr);

    QString language() const;
    widgets::Theme theme() const;
    int torchThreads() const;
    int processes() const;
    // Stores the choices in AppSettings.
    void save() const;

private:
    QComboBox* m_language = nullptr;
    QComboBox* m_theme = nullptr;
    QSpinBox* m_threads = nullptr;
    QSpinBox* m_processes = nullptr;
};

}  // namespace recalign::studio

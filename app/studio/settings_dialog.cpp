// SettingsDialog implementation.
#include "app/studio/settings_dialog.h"

#include "app/studio/app_settings.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QSpinBox>
#include <QThread>
#include <QVBoxLayout>

namespace recalign::studio {

SettingsDialog::SettingsDialog(QWidget* parent) : QDialog(parent)
{
    setWindowTitle(tr("Settings"));
    auto* layout = new QVBoxLayout(this);
    auto* form = new QFormLayout;
    form->setHorizontalSpacing(16);
    form->setVerticalSpacing(10);
    m_language = new QComboBox(this);
    m_language->addItem(QStringLiteral("English"), QStringLiteral("en"));
    m_language->addItem(QStringLiteral("Español"), QStringLiteral("es"));
    m_language->setCurrentIndex(std::max(0, m_language->findData(AppSettings::language())));
    m_theme = new QComboBox(this);
    m_theme->addItem(tr("Light"), static_cast<int>(widgets::Theme::Light));
    m_theme->addItem(tr("Dark"), static_cast<int>(widgets::Theme::Dark));
    m_theme->setCurrentIndex(m_theme->findData(static_cast<int>(AppSettings::theme())));
    m_threads = new QSpinBox(this);
    m_threads->setRange(1, std::max(1, QThread::idealThreadCount()));
    m_threads->setValue(AppSettings::torchThreads());
    m_threads->setToolTip(tr("Threads for training and generation, given either to torch or to OpenBLAS "
                             "by the model's width and compute dtype. One on a two-core machine keeps a "
                             "core free for the window."));
    form->addRow(tr("Language"), m_language);
    form->addRow(tr("Theme"), m_theme);
    form->addRow(tr("Compute threads"), m_threads);
    m_processes = new QSpinBox(this);
    m_processes->setRange(1, std::max(1, QThread::idealThreadCount()));
    m_processes->setValue(std::min(AppSettings::processes(), m_processes->maximum()));
    m_processes->setToolTip(tr("Data-parallel processes per run: more than one runs the experiment as that many "
                               "processes of the recalign CLI (each with its share of the cores), followed here "
                               "through the run store. Applies to the next run."));
    form->addRow(tr("Processes per run"), m_processes);
    layout->addLayout(form);
    auto* note = new QLabel(tr("Threads take effect the next time RecAlign Studio starts (%1 cores here; "
                               "default %2).")
                                .arg(QThread::idealThreadCount())
                                .arg(AppSettings::defaultTorchThreads()),
                            this);
    note->setWordWrap(true);
    QFont f = note->font();
    f.setPointSizeF(f.pointSizeF() * 0.9);
    note->setFont(f);
    layout->addWidget(note);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);
    setMinimumWidth(380);
}

QString SettingsDialog::language() const { return m_language->currentData().toString(); }

widgets::Theme SettingsDialog::theme() const { return static_cast<widgets::Theme>(m_theme->currentData().toInt()); }

int SettingsDialog::torchThreads() const { return m_threads->value(); }

int SettingsDialog::processes() const { return m_processes->value(); }

void SettingsDialog::save() const
{
    AppSettings::setLanguage(language());
    AppSettings::setTheme(theme());
    AppSettings::setTorchThreads(torchThreads());
    AppSettings::setProcesses(processes());
}

}  // namespace recalign::studio

// ConfigurePage implementation.
#include "app/studio/configure_page.h"
#include "app/studio/themed_icons.h"

#include "app/studio/app_settings.h"
#include "app/studio/experiment_document.h"
#include "widgets/config_form.h"
#include "widgets/icons.h"
#include "widgets/theme.h"

#include "core/api/experiment.h"
#include "core/api/tables.h"

#include <QCheckBox>
#include <QDir>
#include <QEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QMenu>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTabWidget>
#include <QTextBlock>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

namespace recalign::studio {

namespace configure_page_detail {
constexpr int kYamlPauseMs = 400;  // the raw YAML is applied after this pause in typing
constexpr int kKeyRole = Qt::UserRole + 1;
constexpr int kLineRole = Qt::UserRole + 2;

QToolButton* toolButton(QWidget* parent, const char* iconName)
{
    auto* b = new QToolButton(parent);
    withIcon(b, QString::fromLatin1(iconName));
    b->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    b->setAutoRaise(true);
    return b;
}
}  // namespace configure_page_detail

using configure_page_detail::toolButton;

ConfigurePage::ConfigurePage(QWidget* parent) : QWidget(parent), m_doc(new ExperimentDocument(this))
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(12, 8, 12, 8);
    layout->setSpacing(8);

    auto* bar = new QHBoxLayout;
    bar->setSpacing(4);
    m_title = new QLabel(this);
    QFont tf = m_title->font();
    tf.setBold(true);
    tf.setPointSizeF(tf.pointSizeF() * 1.1);
    m_title->setFont(tf);
    m_title->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_new = toolButton(this, "add");
    m_open = toolButton(this, "open");
    m_openMenu = new QMenu(m_open);
    m_open->setMenu(m_openMenu);
    m_open->setPopupMode(QToolButton::MenuButtonPopup);
    m_save = toolButton(this, "save");
    m_saveAs = toolButton(this, "save");
    m_validate = toolButton(this, "info");
    m_run = new QPushButton(this);
    withIcon(m_run, QStringLiteral("run"));
    m_run->setDefault(true);
    m_run->setMinimumWidth(110);
    bar->addWidget(m_title, 1);
    for (QWidget* w : {static_cast<QWidget*>(m_new), static_cast<QWidget*>(m_open), static_cast<QWidget*>(m_save),
                       static_cast<QWidget*>(m_saveAs), static_cast<QWidget*>(m_validate)})
        bar->addWidget(w);
    bar->addSpacing(8);
    bar->addWidget(m_run);
    layout->addLayout(bar);

    auto* variants = new QHBoxLayout;
    variants->setSpacing(14);
    m_variantsLabel = new QLabel(this);
    variants->addWidget(m_variantsLabel);
    for (core::Variant v : core::allVariants()) {
        const std::string name = core::variantName(v);
        auto* box = new QCheckBox(QString::fromStdString(core::variantDisplayName(name)), this);
        box->setObjectName(QStringLiteral("variant_") + QString::fromStdString(name));
        m_variantBoxes[name] = box;
        variants->addWidget(box);
        connect(box, &QCheckBox::toggled, this, &ConfigurePage::onVariantToggled);
    }
    variants->addStretch(1);
    layout->addLayout(variants);

    m_tabs = new QTabWidget(this);
    m_tabs->setDocumentMode(true);
    m_form = new widgets::ConfigForm(m_tabs);
    m_form->setSchema(core::experimentSchema());
    m_yaml = new QPlainTextEdit(m_tabs);
    QFont mono(QStringLiteral("monospace"));
    mono.setStyleHint(QFont::Monospace);
    m_yaml->setFont(mono);
    m_yaml->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_yaml->setTabChangesFocus(false);
    m_tabs->addTab(m_form, QString());
    m_tabs->addTab(m_yaml, QString());
    setThemedTabIcon(m_tabs, 0, QStringLiteral("configure"));
    setThemedTabIcon(m_tabs, 1, QStringLiteral("table"));
    layout->addWidget(m_tabs, 1);
    // Problems: a line when there are none, a short list otherwise.
    m_issuesTitle = new QLabel(this);
    m_issuesTitle->setContentsMargins(2, 0, 0, 0);
    m_issues = new QListWidget(this);
    m_issues->setAlternatingRowColors(true);
    m_issues->setMaximumHeight(130);
    layout->addWidget(m_issuesTitle);
    layout->addWidget(m_issues);

    m_yamlTimer = new QTimer(this);
    m_yamlTimer->setSingleShot(true);
    m_yamlTimer->setInterval(configure_page_detail::kYamlPauseMs);

    connect(m_new, &QToolButton::clicked, this, [this] {
        if (maybeSave())
            newExperiment();
    });
    connect(m_open, &QToolButton::clicked, this, &ConfigurePage::openWithDialog);
    connect(m_openMenu, &QMenu::aboutToShow, this, &ConfigurePage::fillOpenMenu);
    connect(m_save, &QToolButton::clicked, this, &ConfigurePage::save);
    connect(m_saveAs, &QToolButton::clicked, this, &ConfigurePage::saveAsWithDialog);
    connect(m_validate, &QToolButton::clicked, this, &ConfigurePage::validate);
    connect(m_run, &QPushButton::clicked, this, &ConfigurePage::requestRun);
    connect(m_form, &widgets::ConfigForm::valueEdited, this, &ConfigurePage::onFormEdited);
    connect(m_yaml, &QPlainTextEdit::textChanged, this, [this] {
        if (!m_syncing)
            m_yamlTimer->start();
    });
    connect(m_yamlTimer, &QTimer::timeout, this, &ConfigurePage::flushYaml);
    connect(m_doc, &ExperimentDocument::textChanged, this, &ConfigurePage::onDocumentText);
    connect(m_doc, &ExperimentDocument::issuesChanged, this, [this] { showIssues(false); });
    connect(m_doc, &ExperimentDocument::pathChanged, this, &ConfigurePage::updateTitle);
    connect(m_doc, &ExperimentDocument::modifiedChanged, this, &ConfigurePage::updateTitle);
    connect(m_issues, &QListWidget::itemActivated, this, [this](QListWidgetItem* item) {
        const int line = item->data(configure_page_detail::kLineRole).toInt();
        const std::string key = item->data(configure_page_detail::kKeyRole).toString().toStdString();
        if (m_tabs->currentWidget() == m_yaml && line > 0) {
            QTextCursor c(m_yaml->document()->findBlockByNumber(line - 1));
            m_yaml->setTextCursor(c);
            m_yaml->setFocus();
        } else if (QWidget* editor = m_form->editorFor(key)) {
            m_tabs->setCurrentWidget(m_form);
            editor->setFocus();
        }
    });
    retranslate();
    newExperiment();
}

void ConfigurePage::retranslate()
{
    m_new->setText(tr("New"));
    m_new->setToolTip(tr("A new experiment with every field at its default"));
    m_open->setText(tr("Open"));
    m_open->setToolTip(tr("Open an experiment file (the arrow lists the project's experiments)"));
    m_save->setText(tr("Save"));
    m_saveAs->setText(tr("Save as…"));
    m_validate->setText(tr("Validate"));
    m_validate->setToolTip(tr("Check the experiment as a run would (missing files are errors)"));
    m_run->setText(tr("Run"));
    m_run->setToolTip(tr("Save, validate and queue the experiment in the workspace"));
    m_variantsLabel->setText(tr("Variants:"));
    static const char* const kDocs[] = {
        QT_TR_NOOP("The SASRec teacher itself"),
        QT_TR_NOOP("Most-popular items (floor baseline)"),
        QT_TR_NOOP("The base LLM prompted without fine-tuning"),
        QT_TR_NOOP("SFT on the users' real next items (PALR)"),
        QT_TR_NOOP("SFT on I0 only"),
        QT_TR_NOOP("SFT on I0–I4"),
        QT_TR_NOOP("v2 + PPO with the list-level reward only"),
        QT_TR_NOOP("v2 + PPO with item- and list-level rewards"),
    };
    const auto all = core::allVariants();
    for (size_t i = 0; i < all.size(); ++i)
        m_variantBoxes[core::variantName(all[i])]->setToolTip(tr(kDocs[i]));
    m_tabs->setTabText(0, tr("Form"));
    m_tabs->setTabText(1, tr("YAML"));
    updateTitle();
    showIssues(false);
}

void ConfigurePage::changeEvent(QEvent* event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::LanguageChange)
        retranslate();
}

QCheckBox* ConfigurePage::variantBox(const QString& variant) const
{
    const auto it = m_variantBoxes.find(variant.toStdString());
    return it == m_variantBoxes.end() ? nullptr : it->second;
}

void ConfigurePage::setExperimentsFolder(const QString& folder) { m_experimentsFolder = folder; }

void ConfigurePage::newExperiment()
{
    m_doc->newDocument(m_experimentsFolder.isEmpty() ? QDir::currentPath() : m_experimentsFolder);
}

bool ConfigurePage::openFile(const QString& path)
{
    if (!m_doc->load(path)) {
        Q_EMIT statusMessage(m_doc->errorString());
        return false;
    }
    AppSettings::addRecentExperiment(m_doc->path());
    Q_EMIT fileOpened(m_doc->path());
    Q_EMIT statusMessage(tr("Opened %1").arg(QDir::toNativeSeparators(m_doc->path())));
    return true;
}

void ConfigurePage::flushYaml()
{
    m_yamlTimer->stop();
    m_doc->setText(m_yaml->toPlainText());
}

void ConfigurePage::onDocumentText(bool fromForm)
{
    m_syncing = true;
    if (m_yaml->toPlainText() != m_doc->text()) {
        // Keep the cursor's line when the form regenerated the text.
        const int line = m_yaml->textCursor().blockNumber();
        m_yaml->setPlainText(m_doc->text());
        QTextCursor c(m_yaml->document()->findBlockByNumber(std::min(line, m_yaml->blockCount() - 1)));
        m_yaml->setTextCursor(c);
    }
    if (!fromForm && m_doc->isReadable())
        m_form->setValues(m_doc->values());
    m_form->setEnabled(m_doc->isReadable());
    syncVariantBoxes();
    m_syncing = false;
    updateTitle();
}

void ConfigurePage::onFormEdited(const QString& key)
{
    if (m_syncing)
        return;
    m_yamlTimer->stop();
    const auto issues = m_doc->setValue(key.toStdString(), m_form->value(key.toStdString()));
    if (!issues.empty()) {
        std::vector<core::ConfigIssue> all = issues;
        all.insert(all.end(), m_doc->errors().begin(), m_doc->errors().end());
        m_form->setIssues(all);
    }
    if (key == QLatin1String("variants")) {
        m_syncing = true;
        syncVariantBoxes();
        m_syncing = false;
    }
}

void ConfigurePage::onVariantToggled()
{
    if (m_syncing)
        return;
    QStringList chosen;
    for (core::Variant v : core::allVariants())
        if (m_variantBoxes[core::variantName(v)]->isChecked())
            chosen << QString::fromLatin1(core::variantName(v));
    // Recipe rows (full_grpo, v2+cd, ...) have no box: they stay as the file lists them.
    for (const auto& name : m_doc->config().variants)
        if (!m_variantBoxes.count(name))
            chosen << QString::fromStdString(name);
    const QString text = QLatin1Char('[') + chosen.join(QStringLiteral(", ")) + QLatin1Char(']');
    m_doc->setValue("variants", text.toStdString());
    m_syncing = true;
    m_form->setValue("variants", text.toStdString());
    m_syncing = false;
}

void ConfigurePage::syncVariantBoxes()
{
    const auto& chosen = m_doc->config().variants;
    for (auto& [name, box] : m_variantBoxes) {
        const bool on = std::find(chosen.begin(), chosen.end(), name) != chosen.end();
        const QSignalBlocker block(box);
        box->setChecked(on);
    }
}

void ConfigurePage::showIssues(bool forRun)
{
    std::vector<core::ConfigIssue> errors = m_doc->errors();
    std::vector<core::ConfigIssue> warnings = m_doc->warnings();
    if (forRun) {
        const core::ExperimentCheck check = m_doc->checkForRun();
        errors = check.errors;
        warnings = check.warnings;
    }
    m_form->setIssues(errors);
    m_issues->clear();
    const QString file = m_doc->path().isEmpty() ? QString() : QFileInfo(m_doc->path()).fileName();
    auto add = [&](const core::ConfigIssue& issue, bool error) {
        auto* item = new QListWidgetItem(widgets::icon(error ? QStringLiteral("error") : QStringLiteral("warning")),
                                         QString::fromStdString(core::formatIssue(issue, file.toStdString())),
                                         m_issues);
        item->setData(configure_page_detail::kKeyRole, QString::fromStdString(issue.key));
        item->setData(configure_page_detail::kLineRole, issue.line);
        if (error)
            item->setForeground(widgets::errorTextColor(palette()));
    };
    for (const auto& e : errors)
        add(e, true);
    for (const auto& w : warnings)
        add(w, false);
    m_issues->setVisible(!errors.empty() || !warnings.empty());
    if (errors.empty() && warnings.empty())
        m_issuesTitle->setText(tr("No problems found"));
    else
        m_issuesTitle->setText(tr("Problems: %1 error(s), %2 warning(s)").arg(errors.size()).arg(warnings.size()));
}

bool ConfigurePage::validate()
{
    flushYaml();
    showIssues(true);
    const bool ok = m_doc->checkForRun().ok();
    if (!ok)
        m_form->focusFirstIssue();
    Q_EMIT statusMessage(ok ? tr("The experiment is valid.") : tr("The experiment has problems; see the list below."));
    return ok;
}

bool ConfigurePage::save()
{
    flushYaml();
    if (m_doc->path().isEmpty())
        return saveAsWithDialog();
    if (!m_doc->save()) {
        QMessageBox::warning(this, tr("Save experiment"), m_doc->errorString());
        return false;
    }
    Q_EMIT statusMessage(tr("Saved %1").arg(QDir::toNativeSeparators(m_doc->path())));
    return true;
}

bool ConfigurePage::saveAs(const QString& path)
{
    flushYaml();
    if (!m_doc->save(path))
        return false;
    AppSettings::addRecentExperiment(m_doc->path());
    Q_EMIT statusMessage(tr("Saved %1").arg(QDir::toNativeSeparators(m_doc->path())));
    return true;
}

bool ConfigurePage::saveAsWithDialog()
{
    const QString start = m_doc->path().isEmpty()
        ? (m_experimentsFolder.isEmpty() ? QDir::currentPath() : m_experimentsFolder) + QStringLiteral("/")
            + QString::fromStdString(m_doc->config().name) + QStringLiteral(".yaml")
        : m_doc->path();
    const QString path = QFileDialog::getSaveFileName(this, tr("Save experiment"), start,
                                                      tr("Experiment files (*.yaml *.yml)"));
    if (path.isEmpty())
        return false;
    if (!saveAs(path)) {
        QMessageBox::warning(this, tr("Save experiment"), m_doc->errorString());
        return false;
    }
    return true;
}

bool ConfigurePage::requestRun()
{
    flushYaml();
    if (m_doc->isModified() || m_doc->path().isEmpty()) {
        if (!save())
            return false;
    }
    if (!validate())
        return false;
    Q_EMIT runRequested(m_doc->path());
    return true;
}

bool ConfigurePage::maybeSave()
{
    flushYaml();
    if (!m_doc->isModified())
        return true;
    const auto answer = QMessageBox::question(
        this, tr("Unsaved experiment"), tr("The experiment has unsaved changes. Save them?"),
        QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, QMessageBox::Save);
    if (answer == QMessageBox::Cancel)
        return false;
    return answer == QMessageBox::Discard || save();
}

void ConfigurePage::updateTitle()
{
    const QString name = m_doc->path().isEmpty() ? tr("Untitled experiment")
                                                 : QDir::toNativeSeparators(m_doc->path());
    m_title->setText(m_doc->isModified() ? name + QStringLiteral(" •") : name);
    m_title->setToolTip(m_doc->isModified() ? tr("Unsaved changes") : QString());
}

void ConfigurePage::fillOpenMenu()
{
    m_openMenu->clear();
    const QDir dir(m_experimentsFolder);
    const QStringList files = m_experimentsFolder.isEmpty()
        ? QStringList()
        : dir.entryList({QStringLiteral("*.yaml"), QStringLiteral("*.yml")}, QDir::Files, QDir::Name);
    if (!files.isEmpty())
        m_openMenu->addSection(tr("Project experiments"));
    for (const QString& f : files) {
        const QString path = dir.absoluteFilePath(f);
        m_openMenu->addAction(widgets::icon(QStringLiteral("configure")), f, this, [this, path] {
            if (maybeSave())
                openFile(path);
        });
    }
    const QStringList recent = AppSettings::recentExperiments();
    if (!recent.isEmpty())
        m_openMenu->addSection(tr("Recent"));
    for (const QString& path : recent) {
        m_openMenu->addAction(QDir::toNativeSeparators(path), this, [this, path] {
            if (maybeSave())
                openFile(path);
        });
    }
    m_openMenu->addSeparator();
    m_openMenu->addAction(widgets::icon(QStringLiteral("browse")), tr("Browse…"), this,
                          &ConfigurePage::openWithDialog);
}

void ConfigurePage::openWithDialog()
{
    if (!maybeSave())
        return;
    const QString start = m_doc->path().isEmpty() ? m_experimentsFolder : QFileInfo(m_doc->path()).absolutePath();
    const QString path = QFileDialog::getOpenFileName(this, tr("Open experiment"), start,
                                                      tr("Experiment files (*.yaml *.yml);;All files (*)"));
    if (!path.isEmpty() && !openFile(path))
        QMessageBox::warning(this, tr("Open experiment"), m_doc->errorString());
}

}  // namespace recalign::studio

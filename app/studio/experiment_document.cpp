// ExperimentDocument implementation.
#include "app/studio/experiment_document.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>

namespace recalign::studio {

namespace experiment_document_detail {
// Problems that mean the text could not be read as YAML at all (the config is then defaults).
bool isSyntaxError(const core::ConfigIssue& issue)
{
    return issue.key.empty()
        && (issue.message.rfind("YAML syntax error", 0) == 0 || issue.message.rfind("expected a mapping", 0) == 0);
}
}  // namespace experiment_document_detail

ExperimentDocument::ExperimentDocument(QObject* parent) : QObject(parent)
{
    m_config = core::defaultExperiment();
}

void ExperimentDocument::newDocument(const QString& baseDir)
{
    m_path.clear();
    m_baseDir = QFileInfo(baseDir).absoluteFilePath();
    m_config = core::defaultExperiment();
    m_config.base_dir = m_baseDir.toStdString();
    m_text = QString::fromStdString(core::toYaml(m_config, true));
    reparse();
    setModified(false);
    Q_EMIT pathChanged(m_path);
    Q_EMIT textChanged(false);
}

bool ExperimentDocument::load(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        m_error = tr("Cannot read %1: %2").arg(QDir::toNativeSeparators(path), f.errorString());
        return false;
    }
    m_text = QString::fromUtf8(f.readAll());
    m_path = QFileInfo(path).absoluteFilePath();
    m_baseDir = QFileInfo(m_path).absolutePath();
    reparse();
    setModified(false);
    Q_EMIT pathChanged(m_path);
    Q_EMIT textChanged(false);
    return true;
}

bool ExperimentDocument::save(const QString& path)
{
    const QString target = QFileInfo(path.isEmpty() ? m_path : path).absoluteFilePath();
    if (target.isEmpty()) {
        m_error = tr("The experiment has no file name yet.");
        return false;
    }
    const QString newBase = QFileInfo(target).absolutePath();
    if (newBase != m_baseDir && m_readable) {
        // Keep relative paths pointing at the same files from the new folder.
        // The text is kept verbatim unless a relative path has to change.
        core::ExperimentConfig moved = m_config;
        core::rebasePaths(moved, newBase.toStdString());
        bool pathsChanged = false;
        for (const core::ConfigField& field : core::experimentSchema())
            if (field.type == core::ConfigField::Type::Path
                && core::fieldValueText(moved, field.key) != core::fieldValueText(m_config, field.key))
                pathsChanged = true;
        if (pathsChanged) {
            m_config = moved;
            m_text = QString::fromStdString(core::toYaml(m_config, true));
        }
    }
    QSaveFile f(target);
    if (!f.open(QIODevice::WriteOnly) || f.write(m_text.toUtf8()) < 0 || !f.commit()) {
        m_error = tr("Cannot write %1: %2").arg(QDir::toNativeSeparators(target), f.errorString());
        return false;
    }
    const bool moved = target != m_path;
    m_path = target;
    if (newBase != m_baseDir) {
        m_baseDir = newBase;
        reparse();
        Q_EMIT textChanged(false);
    }
    setModified(false);
    if (moved)
        Q_EMIT pathChanged(m_path);
    return true;
}

void ExperimentDocument::setText(const QString& yaml)
{
    if (yaml == m_text)
        return;
    m_text = yaml;
    reparse();
    setModified(true);
    Q_EMIT textChanged(false);
}

void ExperimentDocument::reparse()
{
    core::ValidateOptions options;
    options.missing_files = core::FileCheck::Warning;
    core::ExperimentCheck check = core::checkExperimentText(m_text.toStdString(), m_baseDir.toStdString(), options);
    m_readable = true;
    for (const auto& e : check.errors)
        if (experiment_document_detail::isSyntaxError(e))
            m_readable = false;
    if (m_readable)
        m_config = check.config;
    m_errors = std::move(check.errors);
    m_warnings = std::move(check.warnings);
    Q_EMIT issuesChanged();
}

std::map<std::string, std::string> ExperimentDocument::values() const
{
    std::map<std::string, std::string> out;
    for (const core::ConfigField& f : core::experimentSchema())
        out[f.key] = core::fieldValueText(m_config, f.key);
    return out;
}

std::string ExperimentDocument::value(const std::string& key) const { return core::fieldValueText(m_config, key); }

std::vector<core::ConfigIssue> ExperimentDocument::setValue(const std::string& key, const std::string& text)
{
    core::ExperimentConfig edited = m_config;
    auto issues = core::setFieldFromText(edited, key, text);
    if (!issues.empty())
        return issues;
    if (core::fieldValueText(edited, key) == core::fieldValueText(m_config, key))
        return {};
    m_config = edited;
    regenerateText();
    return {};
}

void ExperimentDocument::regenerateText()
{
    m_text = QString::fromStdString(core::toYaml(m_config, true));
    reparse();
    setModified(true);
    Q_EMIT textChanged(true);
}

core::ExperimentCheck ExperimentDocument::checkForRun() const
{
    return core::checkExperimentText(m_text.toStdString(), m_baseDir.toStdString());
}

void ExperimentDocument::setModified(bool on)
{
    if (on == m_modified)
        return;
    m_modified = on;
    Q_EMIT modifiedChanged(on);
}

}  // namespace recalign::studio

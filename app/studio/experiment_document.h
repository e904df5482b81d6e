// ExperimentDocument: the experiment file being edited in Configure. One YAML text and the
// config read from it (core::checkExperimentText), kept in sync both ways: the raw YAML tab
// sets the text (the form then shows the config); form edits set fields
// (core::setFieldFromText) and regenerate the text (core::toYaml with field docs as comments).
// Validation issues name dotted keys, so the form shows them next to the fields. No widgets.
#pragma once

#include "core/api/experiment.h"

#include <QObject>
#include <QString>

#include <map>
#include <string>
#include <vector>

namespace recalign::studio {

class ExperimentDocument : public QObject {
    Q_OBJECT
public:
    explicit ExperimentDocument(QObject* parent = nullptr);

    // A new, unsaved document with every field at its default (relative paths start at `baseDir`).
    void newDocument(const QString& baseDir);
    // Reads a file. False with errorString() when it cannot be read; YAML or validation problems
    // are not failures (they show up in issues()).
    bool load(const QString& path);
    // Writes the text to `path` ("" = the current path). Saving into another folder rewrites
    // relative paths so they name the same files from there. False with errorString().
    bool save(const QString& path = {});

    QString text() const { return m_text; }
    // Sets the text (the raw YAML editor); re-reads the config when the YAML is readable.
    void setText(const QString& yaml);
    QString path() const { return m_path; }
    QString baseDir() const { return m_baseDir; }
    bool isModified() const { return m_modified; }
    QString errorString() const { return m_error; }
    // False while the text has a YAML syntax error (the form then keeps the last good config).
    bool isReadable() const { return m_readable; }

    const core::ExperimentConfig& config() const { return m_config; }
    // Every schema field's value as the form reads it (core::fieldValueText).
    std::map<std::string, std::string> values() const;
    std::string value(const std::string& key) const;
    // Sets one field from form text; on success the text is regenerated. Returns the problems
    // (the field is then unchanged).
    std::vector<core::ConfigIssue> setValue(const std::string& key, const std::string& text);

    // Issues of the current text (missing data/model files are warnings while editing).
    const std::vector<core::ConfigIssue>& errors() const { return m_errors; }
    const std::vector<core::ConfigIssue>& warnings() const { return m_warnings; }
    // A full check as a run would do it (missing files are errors).
    core::ExperimentCheck checkForRun() const;

Q_SIGNALS:
    // The text changed; `fromForm` is true when a form edit regenerated it.
    void textChanged(bool fromForm);
    void issuesChanged();
    void pathChanged(const QString& path);
    void modifiedChanged(bool modified);

private:
    void reparse();
    void setModified(bool on);
    void regenerateText();

    QString m_text;
    QString m_path;
    QString m_baseDir;
    QString m_error;
    bool m_modified = false;
    bool m_readable = true;
    core::ExperimentConfig m_config;
    std::vector<core::ConfigIssue> m_errors;
    std::vector<core::ConfigIssue> m_warnings;
};

}  // namespace recalign::studio

// ConfigForm: a form generated from the config schema (std::vector<core::ConfigField>):
// one section per group, an editor per type (spin boxes with ranges, check boxes, combo boxes
// for enums, path fields with a browse button, list editors), tooltips with each field's doc,
// validation issues shown under their field, and values in/out as a flat map key -> text in
// the form core::fieldValueText() writes and core::setFieldFromText() reads: YAML scalars
// ("0.3", "true", "k3"), lists as YAML flow sequences ("[1, 2]", "[a, \"b, c\"]"), and String /
// Path fields as their plain text (quoted input such as "\"\"" is unquoted). The raw-YAML tab
// is the app's.
#pragma once

#include "core/api/config_schema.h"

#include <QDoubleSpinBox>
#include <QString>
#include <QStringList>
#include <QWidget>

#include <map>
#include <memory>
#include <string>
#include <vector>

class QFormLayout;
class QLabel;
class QLineEdit;
class QListWidget;
class QScrollArea;
class QVBoxLayout;

namespace recalign::widgets {

// A QDoubleSpinBox that shows and accepts scientific notation (1e-05) and shortest round-trip
// decimals, so learning rates and KL coefficients fit.
class ScientificSpinBox : public QDoubleSpinBox {
    Q_OBJECT
public:
    explicit ScientificSpinBox(QWidget* parent = nullptr);
    QString textFromValue(double value) const override;
    double valueFromText(const QString& text) const override;
    QValidator::State validate(QString& input, int& pos) const override;
};

class ConfigForm : public QWidget {
    Q_OBJECT
public:
    explicit ConfigForm(QWidget* parent = nullptr);
    ~ConfigForm() override;

    // Builds the form (all values at their defaults). Groups appear in schema order.
    void setSchema(const std::vector<core::ConfigField>& fields);
    const std::vector<core::ConfigField>& schema() const { return m_fields; }

    // Sets the given keys (YAML scalar text); keys not in the schema are ignored and returned.
    QStringList setValues(const std::map<std::string, std::string>& values);
    bool setValue(const std::string& key, const std::string& yamlText);
    void resetToDefaults();
    // Every field's current value (see the file comment for the text form).
    std::map<std::string, std::string> values() const;
    // Only the fields whose value differs from the schema default.
    std::map<std::string, std::string> changedValues() const;
    std::string value(const std::string& key) const;

    // Shows each issue under its field (and those without a field in a banner at the top);
    // replaces the issues shown before.
    void setIssues(const std::vector<core::ConfigIssue>& issues);
    void clearIssues();
    int issueCount() const { return m_issueCount; }
    QStringList bannerIssues() const { return m_bannerIssues; }
    // Scrolls to and focuses the first field with an issue; false when there is none.
    bool focusFirstIssue();

    // Hides fields whose key, label or doc do not contain `text` (case-insensitive).
    void setFilterText(const QString& text);

    QWidget* editorFor(const std::string& key) const;
    QLabel* errorLabelFor(const std::string& key) const;
    QString groupTitle(const std::string& group) const;

Q_SIGNALS:
    void valueEdited(const QString& key);  // the user changed a field

protected:
    void changeEvent(QEvent* event) override;

private:
    struct Field;
    Field* find(const std::string& key) const;
    QWidget* createEditor(Field& f);
    void writeEditor(Field& f, const QString& yamlText);
    QString readEditor(const Field& f) const;
    void markChanged(Field& f);
    void onEdited(Field& f);
    void rebuild();
    void retranslate();

    std::vector<core::ConfigField> m_fields;
    std::vector<std::unique_ptr<Field>> m_rows;
    struct Section {
        std::string group;
        QWidget* box = nullptr;
        QFormLayout* form = nullptr;
    };
    std::vector<Section> m_sections;
    QStringList m_bannerIssues;
    int m_issueCount = 0;
    bool m_loading = false;

    QLineEdit* m_filter = nullptr;
    QListWidget* m_nav = nullptr;
    QScrollArea* m_scroll = nullptr;
    QWidget* m_body = nullptr;
    QVBoxLayout* m_bodyLayout = nullptr;
    QLabel* m_banner = nullptr;
};

}  // namespace recalign::widgets

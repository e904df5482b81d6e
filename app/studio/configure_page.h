// ConfigurePage: the Configure tab: open/save experiment YAML files, the schema-generated form,
// variant check boxes, the raw YAML kept in sync, validation issues next to the fields and in a
// list, and Run (saves, validates as a run would, then asks for the run). The document logic
// lives in ExperimentDocument.
#pragma once

#include <QWidget>

#include <map>
#include <string>

class QCheckBox;
class QLabel;
class QListWidget;
class QMenu;
class QPlainTextEdit;
class QPushButton;
class QTabWidget;
class QTimer;
class QToolButton;

namespace recalign::widgets {
class ConfigForm;
}

namespace recalign::studio {

class ExperimentDocument;

class ConfigurePage : public QWidget {
    Q_OBJECT
public:
    explicit ConfigurePage(QWidget* parent = nullptr);

    ExperimentDocument* document() const { return m_doc; }
    widgets::ConfigForm* form() const { return m_form; }
    QPlainTextEdit* yamlEdit() const { return m_yaml; }
    QListWidget* issueList() const { return m_issues; }
    QCheckBox* variantBox(const QString& variant) const;

    // Folder offered by Open (the project's experiments/).
    void setExperimentsFolder(const QString& folder);
    QString experimentsFolder() const { return m_experimentsFolder; }

    bool openFile(const QString& path);
    void newExperiment();
    bool save();
    bool saveAs(const QString& path);
    // Shows every issue a run would hit; true when there is none.
    bool validate();
    // Saves (asking for a name when needed), validates and emits runRequested.
    bool requestRun();
    // Applies the YAML editor's pending text now (it is otherwise applied after a short pause).
    void flushYaml();
    // Asks to save unsaved changes; false when the user cancels.
    bool maybeSave();

public Q_SLOTS:
    void openWithDialog();
    bool saveAsWithDialog();

Q_SIGNALS:
    void runRequested(const QString& experimentPath);
    void statusMessage(const QString& text);
    void fileOpened(const QString& path);

protected:
    void changeEvent(QEvent* event) override;

private:
    void retranslate();
    void onDocumentText(bool fromForm);
    void showIssues(bool forRun);
    void onFormEdited(const QString& key);
    void onVariantToggled();
    void syncVariantBoxes();
    void updateTitle();
    void fillOpenMenu();

    ExperimentDocument* m_doc = nullptr;
    QLabel* m_title = nullptr;
    QToolButton* m_new = nullptr;
    QToolButton* m_open = nullptr;
    QMenu* m_openMenu = nullptr;
    QToolButton* m_save = nullptr;
    QToolButton* m_saveAs = nullptr;
    QToolButton* m_validate = nullptr;
    QPushButton* m_run = nullptr;
    QLabel* m_variantsLabel = nullptr;
    std::map<std::string, QCheckBox*> m_variantBoxes;
    QTabWidget* m_tabs = nullptr;
    widgets::ConfigForm* m_form = nullptr;
    QPlainTextEdit* m_yaml = nullptr;
    QLabel* m_issuesTitle = nullptr;
    QListWidget* m_issues = nullptr;
    QTimer* m_yamlTimer = nullptr;
    QString m_experimentsFolder;
    bool m_syncing = false;
};

}  // namespace recalign::studio

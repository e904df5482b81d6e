// ProbePage: the Probe tab: choose a run and variant, one of the trainer states the run kept, or
// any model and PEFT adapters from disk (and optionally a second checkpoint to compare), a dataset user or a typed history (completer over the catalogue), the task template
// (I0, I1 ±C, I2 with a proportion, I3, free text), k and the decoding; Generate asks for the
// probe(s) and the answers appear side by side. The form only builds ProbeRequests; the
// ProbeController runs them.
#pragma once

#include "core/api/probe.h"

#include <QMap>
#include <QVector>
#include <QWidget>

#include <utility>
#include <vector>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QGroupBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QRadioButton;
class QSpinBox;

namespace recalign::widgets {
class HistoryEditor;
}

namespace recalign::studio {

class ProbeResultView;

class ProbePage : public QWidget {
    Q_OBJECT
public:
    explicit ProbePage(QWidget* parent = nullptr);

    // A new workspace: run ids name other runs now, so cached catalogues go.
    void setWorkspace(const QString& path);
    // Finished runs offered (id, label), newest first.
    void setRuns(const std::vector<std::pair<qint64, QString>>& runs);
    void setCatalogue(qint64 runId, const core::ProbeCatalogue& catalogue);
    void selectRun(int slot, qint64 runId, const QString& variant = {});

    // The requests the form describes (one, or two when comparing).
    QVector<core::ProbeRequest> requests() const;
    void showBusy(bool busy);
    void showResult(int slot, const core::ProbeResult& result);

    ProbeResultView* resultView(int slot) const { return slot == 0 ? m_viewA : m_viewB; }
    QPushButton* generateButton() const { return m_generate; }
    QComboBox* taskCombo() const { return m_task; }
    QComboBox* decodingCombo() const { return m_decoding; }
    QCheckBox* constrainedBox() const { return m_constrained; }
    widgets::HistoryEditor* historyEditor() const { return m_history; }
    void setCompare(bool on);
    void setUser(int user);
    // "Other model or adapters": the slot's model path ("" = the run's base) and adapter folders
    // or kept trainer states, comma-separated (all but the last stacked beneath it).
    QLineEdit* modelEdit(int slot) const { return slot == 0 ? m_modelA : m_modelB; }
    QLineEdit* adaptersEdit(int slot) const { return slot == 0 ? m_adaptersA : m_adaptersB; }
    QComboBox* variantCombo(int slot) const { return slot == 0 ? m_variantA : m_variantB; }

public Q_SLOTS:
    // Emits generateRequested with requests() (what the Generate button does).
    void generate();

Q_SIGNALS:
    void catalogueWanted(qint64 runId);
    void generateRequested(const QVector<recalign::core::ProbeRequest>& requests);

protected:
    void changeEvent(QEvent* event) override;

private:
    void retranslate();
    void updateEnabled();
    void onRunChanged(int slot);
    void fillVariants(int slot);
    core::ProbeRequest baseRequest() const;
    // Slot's run, variant and weights: a variant, a kept trainer state ("checkpoint:N") or other
    // weights ("custom": the model and adapter fields).
    void setWeights(int slot, core::ProbeRequest& q) const;

    QString m_workspace;
    QMap<qint64, core::ProbeCatalogue> m_catalogues;
    QVector<core::ProbeRequest> m_lastRequests;

    QGroupBox* m_checkpointBox = nullptr;
    QFormLayout* m_checkpointForm = nullptr;
    QComboBox* m_runA = nullptr;
    QComboBox* m_variantA = nullptr;
    QCheckBox* m_compare = nullptr;
    QComboBox* m_runB = nullptr;
    QComboBox* m_variantB = nullptr;
    QLineEdit* m_modelA = nullptr;
    QLineEdit* m_adaptersA = nullptr;
    QLineEdit* m_modelB = nullptr;
    QLineEdit* m_adaptersB = nullptr;
    QGroupBox* m_inputBox = nullptr;
    QFormLayout* m_inputForm = nullptr;
    QRadioButton* m_fromUser = nullptr;
    QRadioButton* m_fromHistory = nullptr;
    QSpinBox* m_user = nullptr;
    widgets::HistoryEditor* m_history = nullptr;
    QComboBox* m_task = nullptr;
    QComboBox* m_category = nullptr;
    QSpinBox* m_proportion = nullptr;
    QSpinBox* m_k = nullptr;
    QLineEdit* m_freeText = nullptr;
    QGroupBox* m_decodeBox = nullptr;
    QFormLayout* m_decodeForm = nullptr;
    QComboBox* m_decoding = nullptr;
    QDoubleSpinBox* m_temperature = nullptr;
    QSpinBox* m_topK = nullptr;
    QDoubleSpinBox* m_topP = nullptr;
    QCheckBox* m_constrained = nullptr;
    QSpinBox* m_maxTokens = nullptr;
    QSpinBox* m_seed = nullptr;
    QPushButton* m_generate = nullptr;
    QLabel* m_status = nullptr;
    ProbeResultView* m_viewA = nullptr;
    ProbeResultView* m_viewB = nullptr;
};

}  // namespace recalign::studio

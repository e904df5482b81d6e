// ProbePage implementation.
#include "app/studio/probe_page.h"
#include "app/studio/themed_icons.h"

#include "app/studio/probe_result_view.h"
#include "widgets/icons.h"
#include "widgets/probe_widgets.h"

#include "core/api/tables.h"

#include <QAction>
#include <QIcon>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QEvent>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QVBoxLayout>

namespace recalign::studio {

namespace probe_page_detail {
enum Decoding { Greedy, Temperature, TopK, TopP };

void setLabel(QFormLayout* form, QWidget* field, const QString& text)
{
    if (auto* label = qobject_cast<QLabel*>(form->labelForField(field)))
        label->setText(text);
}
}  // namespace probe_page_detail

using probe_page_detail::setLabel;

ProbePage::ProbePage(QWidget* parent) : QWidget(parent)
{
    auto* outer = new QHBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    auto* split = new QSplitter(Qt::Horizontal, this);
    outer->addWidget(split);

    // Left: the form, scrollable.
    auto* formScroll = new QScrollArea(split);
    formScroll->setWidgetResizable(true);
    formScroll->setFrameShape(QFrame::NoFrame);
    auto* formHost = new QWidget(formScroll);
    auto* left = new QVBoxLayout(formHost);
    left->setContentsMargins(12, 8, 8, 8);
    left->setSpacing(10);
    formScroll->setWidget(formHost);

    m_checkpointBox = new QGroupBox(formHost);
    m_checkpointForm = new QFormLayout(m_checkpointBox);
    m_runA = new QComboBox(m_checkpointBox);
    m_variantA = new QComboBox(m_checkpointBox);
    m_compare = new QCheckBox(m_checkpointBox);
    m_runB = new QComboBox(m_checkpointBox);
    m_variantB = new QComboBox(m_checkpointBox);
    m_modelA = new QLineEdit(m_checkpointBox);
    m_adaptersA = new QLineEdit(m_checkpointBox);
    m_modelB = new QLineEdit(m_checkpointBox);
    m_adaptersB = new QLineEdit(m_checkpointBox);
    m_checkpointForm->addRow(QStringLiteral("-"), m_runA);
    m_checkpointForm->addRow(QStringLiteral("-"), m_variantA);
    m_checkpointForm->addRow(QStringLiteral("-"), m_modelA);
    m_checkpointForm->addRow(QStringLiteral("-"), m_adaptersA);
    m_checkpointForm->addRow(m_compare);
    m_checkpointForm->addRow(QStringLiteral("-"), m_runB);
    m_checkpointForm->addRow(QStringLiteral("-"), m_variantB);
    m_checkpointForm->addRow(QStringLiteral("-"), m_modelB);
    m_checkpointForm->addRow(QStringLiteral("-"), m_adaptersB);
    // Browse actions: a model folder replaces the field, an adapter folder is appended.
    for (QLineEdit* edit : {m_modelA, m_adaptersA, m_modelB, m_adaptersB}) {
        const bool adapters = edit == m_adaptersA || edit == m_adaptersB;
        QAction* browse = withIcon(edit->addAction(QIcon(), QLineEdit::TrailingPosition), QStringLiteral("open"));
        browse->setToolTip(adapters ? tr("Add an adapter folder") : tr("Choose a model folder"));
        connect(browse, &QAction::triggered, this, [this, edit, adapters] {
            const QString dir = QFileDialog::getExistingDirectory(this, adapters ? tr("Adapter folder") : tr("Model folder"));
            if (dir.isEmpty())
                return;
            edit->setText(adapters && !edit->text().trimmed().isEmpty() ? edit->text().trimmed() + QLatin1Char(',') + dir : dir);
        });
    }
    left->addWidget(m_checkpointBox);

    m_inputBox = new QGroupBox(formHost);
    m_inputForm = new QFormLayout(m_inputBox);
    m_fromUser = new QRadioButton(m_inputBox);
    m_fromHistory = new QRadioButton(m_inputBox);
    m_fromUser->setChecked(true);
    m_user = new QSpinBox(m_inputBox);
    m_user->setRange(0, 0);
    m_history = new widgets::HistoryEditor(m_inputBox);
    m_task = new QComboBox(m_inputBox);
    m_category = new QComboBox(m_inputBox);
    m_proportion = new QSpinBox(m_inputBox);
    m_proportion->setRange(0, 100);
    m_proportion->setSingleStep(10);
    m_proportion->setValue(30);
    m_proportion->setSuffix(QStringLiteral(" %"));
    m_k = new QSpinBox(m_inputBox);
    m_k->setRange(1, 50);
    m_k->setValue(10);
    m_freeText = new QLineEdit(m_inputBox);
    m_inputForm->addRow(m_fromUser, m_user);
    m_inputForm->addRow(m_fromHistory);
    m_inputForm->addRow(m_history);
    m_inputForm->addRow(QStringLiteral("-"), m_task);
    m_inputForm->addRow(QStringLiteral("-"), m_category);
    m_inputForm->addRow(QStringLiteral("-"), m_proportion);
    m_inputForm->addRow(QStringLiteral("-"), m_k);
    m_inputForm->addRow(QStringLiteral("-"), m_freeText);
    left->addWidget(m_inputBox);

    m_decodeBox = new QGroupBox(formHost);
    m_decodeForm = new QFormLayout(m_decodeBox);
    m_decoding = new QComboBox(m_decodeBox);
    m_temperature = new QDoubleSpinBox(m_decodeBox);
    m_temperature->setRange(0.05, 5.0);
    m_temperature->setSingleStep(0.1);
    m_temperature->setValue(0.7);
    m_topK = new QSpinBox(m_decodeBox);
    m_topK->setRange(1, 1000);
    m_topK->setValue(40);
    m_topP = new QDoubleSpinBox(m_decodeBox);
    m_topP->setRange(0.05, 1.0);
    m_topP->setSingleStep(0.05);
    m_topP->setValue(0.9);
    m_constrained = new QCheckBox(m_decodeBox);
    m_maxTokens = new QSpinBox(m_decodeBox);
    m_maxTokens->setRange(8, 2048);
    m_maxTokens->setValue(256);
    m_seed = new QSpinBox(m_decodeBox);
    m_seed->setRange(0, 1000000);
    m_decodeForm->addRow(QStringLiteral("-"), m_decoding);
    m_decodeForm->addRow(QStringLiteral("-"), m_temperature);
    m_decodeForm->addRow(QStringLiteral("-"), m_topK);
    m_decodeForm->addRow(QStringLiteral("-"), m_topP);
    m_decodeForm->addRow(m_constrained);
    m_decodeForm->addRow(QStringLiteral("-"), m_maxTokens);
    m_decodeForm->addRow(QStringLiteral("-"), m_seed);
    left->addWidget(m_decodeBox);

    m_generate = new QPushButton(formHost);
    withIcon(m_generate, QStringLiteral("run"));
    m_generate->setDefault(true);
    m_generate->setMinimumHeight(32);
    m_status = new QLabel(formHost);
    m_status->setWordWrap(true);
    left->addWidget(m_generate);
    left->addWidget(m_status);
    left->addStretch(1);
    // Long run names and titles must not widen the form: combos elide, the form never scrolls
    // sideways.
    for (QComboBox* combo : formHost->findChildren<QComboBox*>()) {
        combo->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
        combo->setMinimumContentsLength(10);
    }
    formScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    formScroll->setMinimumWidth(280);

    // Right: the answers, side by side.
    auto* results = new QWidget(split);
    auto* right = new QHBoxLayout(results);
    right->setContentsMargins(8, 8, 12, 8);
    right->setSpacing(16);
    m_viewA = new ProbeResultView(results);
    m_viewB = new ProbeResultView(results);
    right->addWidget(m_viewA, 1);
    right->addWidget(m_viewB, 1);
    split->addWidget(formScroll);
    split->addWidget(results);
    split->setStretchFactor(0, 0);
    split->setStretchFactor(1, 1);
    split->setSizes({310, 1000});

    connect(m_runA, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] { onRunChanged(0); });
    connect(m_runB, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] { onRunChanged(1); });
    connect(m_variantA, qOverload<int>(&QComboBox::currentIndexChanged), this, &ProbePage::updateEnabled);
    connect(m_variantB, qOverload<int>(&QComboBox::currentIndexChanged), this, &ProbePage::updateEnabled);
    connect(m_compare, &QCheckBox::toggled, this, &ProbePage::updateEnabled);
    connect(m_fromUser, &QRadioButton::toggled, this, &ProbePage::updateEnabled);
    connect(m_task, qOverload<int>(&QComboBox::currentIndexChanged), this, &ProbePage::updateEnabled);
    connect(m_decoding, qOverload<int>(&QComboBox::currentIndexChanged), this, &ProbePage::updateEnabled);
    connect(m_generate, &QPushButton::clicked, this, &ProbePage::generate);
    retranslate();
    updateEnabled();
}

void ProbePage::retranslate()
{
    using namespace probe_page_detail;
    m_checkpointBox->setTitle(tr("Checkpoint"));
    setLabel(m_checkpointForm, m_runA, tr("Run"));
    setLabel(m_checkpointForm, m_variantA, tr("Variant"));
    m_compare->setText(tr("Compare with a second checkpoint"));
    setLabel(m_checkpointForm, m_runB, tr("Second run"));
    setLabel(m_checkpointForm, m_variantB, tr("Second variant"));
    for (QLineEdit* edit : {m_modelA, m_modelB}) {
        setLabel(m_checkpointForm, edit, tr("Model"));
        edit->setPlaceholderText(tr("The run's base model"));
        edit->setToolTip(tr("A llama2.c file, a Hugging Face folder or a run's fine-tuned model folder"));
    }
    for (QLineEdit* edit : {m_adaptersA, m_adaptersB}) {
        setLabel(m_checkpointForm, edit, tr("Adapters"));
        edit->setPlaceholderText(tr("None"));
        edit->setToolTip(tr("PEFT adapter folders or kept trainer states, comma-separated; all but the last "
                            "are stacked beneath the last"));
    }
    m_inputBox->setTitle(tr("Prompt"));
    m_fromUser->setText(tr("Dataset user"));
    m_user->setToolTip(tr("The user's test history is the prompt's history"));
    m_fromHistory->setText(tr("Typed history"));
    setLabel(m_inputForm, m_task, tr("Task"));
    setLabel(m_inputForm, m_category, tr("Category"));
    setLabel(m_inputForm, m_proportion, tr("Proportion"));
    setLabel(m_inputForm, m_k, tr("Items (k)"));
    setLabel(m_inputForm, m_freeText, tr("Instruction"));
    m_freeText->setPlaceholderText(tr("Your own instruction (free-text task)"));
    const int task = std::max(0, m_task->currentIndex());
    {
        const QSignalBlocker block(m_task);
        m_task->clear();
        m_task->addItem(tr("I0 · next items"), QStringLiteral("i0"));
        m_task->addItem(tr("I1 +C · items of a category"), QStringLiteral("i1+"));
        m_task->addItem(tr("I1 −C · no items of a category"), QStringLiteral("i1-"));
        m_task->addItem(tr("I2 · at most a proportion of C"), QStringLiteral("i2le"));
        m_task->addItem(tr("I2 · at least a proportion of C"), QStringLiteral("i2ge"));
        m_task->addItem(tr("I2 · about a proportion of C"), QStringLiteral("i2approx"));
        m_task->addItem(tr("I3 · item search in a category"), QStringLiteral("i3"));
        m_task->addItem(tr("Free text"), QStringLiteral("free"));
        m_task->setCurrentIndex(task);
    }
    m_decodeBox->setTitle(tr("Decoding"));
    setLabel(m_decodeForm, m_decoding, tr("Strategy"));
    const int dec = std::max(0, m_decoding->currentIndex());
    {
        const QSignalBlocker block(m_decoding);
        m_decoding->clear();
        m_decoding->addItem(tr("Greedy"), Greedy);
        m_decoding->addItem(tr("Temperature sampling"), Temperature);
        m_decoding->addItem(tr("Top-k sampling"), TopK);
        m_decoding->addItem(tr("Top-p (nucleus) sampling"), TopP);
        m_decoding->setCurrentIndex(dec);
    }
    setLabel(m_decodeForm, m_temperature, tr("Temperature"));
    setLabel(m_decodeForm, m_topK, tr("Top-k"));
    setLabel(m_decodeForm, m_topP, tr("Top-p"));
    m_constrained->setText(tr("Constrained to catalogue titles"));
    m_constrained->setToolTip(tr("Decode through a trie of the catalogue's titles, so every item exists"));
    setLabel(m_decodeForm, m_maxTokens, tr("Max new tokens"));
    setLabel(m_decodeForm, m_seed, tr("Seed"));
    m_generate->setText(tr("Generate"));
    m_generate->setToolTip(tr("Run the prompt through the checkpoint(s) in a worker thread (Ctrl+Return)"));
    m_generate->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
    fillVariants(0);
    fillVariants(1);
    if (m_runA->count() == 0)
        m_status->setText(tr("No finished run in this workspace yet."));
}

void ProbePage::changeEvent(QEvent* event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::LanguageChange)
        retranslate();
}

void ProbePage::updateEnabled()
{
    using namespace probe_page_detail;
    const bool compare = m_compare->isChecked();
    m_runB->setEnabled(compare);
    m_variantB->setEnabled(compare);
    for (int slot : {0, 1}) {
        const bool custom = variantCombo(slot)->currentData().toString() == QLatin1String("custom")
            && (slot == 0 || compare);
        for (QLineEdit* edit : {modelEdit(slot), adaptersEdit(slot)}) {
            edit->setVisible(custom);
            if (QWidget* label = m_checkpointForm->labelForField(edit))
                label->setVisible(custom);
        }
    }
    m_viewB->setVisible(compare);
    m_user->setEnabled(m_fromUser->isChecked());
    m_history->setVisible(m_fromHistory->isChecked());
    const QString task = m_task->currentData().toString();
    m_category->setEnabled(task != QLatin1String("i0") && task != QLatin1String("free"));
    m_proportion->setEnabled(task.startsWith(QLatin1String("i2")));
    m_freeText->setEnabled(task == QLatin1String("free"));
    const int dec = m_decoding->currentData().toInt();
    m_temperature->setEnabled(dec != Greedy);
    m_topK->setEnabled(dec == TopK);
    m_topP->setEnabled(dec == TopP);
    m_seed->setEnabled(dec != Greedy);
    const bool ready = m_runA->count() > 0 && m_variantA->count() > 0 && (!compare || m_variantB->count() > 0);
    m_generate->setEnabled(ready);
}

void ProbePage::setWorkspace(const QString& path)
{
    if (path != m_workspace)
        m_catalogues.clear();
    m_workspace = path;
}

void ProbePage::setRuns(const std::vector<std::pair<qint64, QString>>& runs)
{
    for (QComboBox* combo : {m_runA, m_runB}) {
        const qint64 current = combo->currentData().toLongLong();
        const QSignalBlocker block(combo);
        combo->clear();
        for (const auto& [id, label] : runs)
            combo->addItem(label, id);
        const int i = combo->findData(current);
        combo->setCurrentIndex(i >= 0 ? i : (runs.empty() ? -1 : 0));
    }
    onRunChanged(0);
    onRunChanged(1);
    if (runs.empty())
        m_status->setText(tr("No finished run in this workspace yet."));
    else if (m_status->text() == tr("No finished run in this workspace yet."))
        m_status->clear();
}

void ProbePage::selectRun(int slot, qint64 runId, const QString& variant)
{
    QComboBox* run = slot == 0 ? m_runA : m_runB;
    const int i = run->findData(runId);
    if (i >= 0)
        run->setCurrentIndex(i);
    if (!variant.isEmpty()) {
        QComboBox* v = slot == 0 ? m_variantA : m_variantB;
        const int j = v->findData(variant);
        if (j >= 0)
            v->setCurrentIndex(j);
        else
            v->setProperty("wanted", variant);
    }
}

void ProbePage::onRunChanged(int slot)
{
    QComboBox* run = slot == 0 ? m_runA : m_runB;
    const qint64 id = run->currentData().toLongLong();
    if (id > 0 && !m_catalogues.contains(id))
        Q_EMIT catalogueWanted(id);
    fillVariants(slot);
    updateEnabled();
}

void ProbePage::setCatalogue(qint64 runId, const core::ProbeCatalogue& catalogue)
{
    m_catalogues[runId] = catalogue;
    if (!catalogue.error.ok())
        m_status->setText(tr("Run %1: %2").arg(runId).arg(QString::fromStdString(catalogue.error.message)));
    fillVariants(0);
    fillVariants(1);
    updateEnabled();
}

void ProbePage::fillVariants(int slot)
{
    QComboBox* run = slot == 0 ? m_runA : m_runB;
    QComboBox* variants = slot == 0 ? m_variantA : m_variantB;
    const qint64 id = run->currentData().toLongLong();
    const auto it = m_catalogues.find(id);
    const QString wanted = variants->property("wanted").toString();
    const QString current = wanted.isEmpty() ? variants->currentData().toString() : wanted;
    {
        const QSignalBlocker block(variants);
        variants->clear();
        if (it != m_catalogues.end()) {
            for (const std::string& v : it->variants)
                variants->addItem(QString::fromStdString(core::variantDisplayName(v)), QString::fromStdString(v));
            const int trained = variants->count();
            // Every trainer state the run kept, finished or not.
            for (size_t k = 0; k < it->checkpoints.size(); ++k) {
                const core::ProbeCheckpoint& c = it->checkpoints[k];
                const QString stage = QString::fromStdString(c.stage);
                const QString label = c.stage.rfind("ppo_", 0) == 0
                    ? (c.kind == "best" ? tr("%1 · best state (iteration %2)") : tr("%1 · latest state (iteration %2)"))
                    : tr("%1 · latest state (step %2)");
                variants->addItem(label.arg(stage).arg(c.step), QStringLiteral("checkpoint:%1").arg(k));
            }
            variants->addItem(tr("Other model or adapters…"), QStringLiteral("custom"));
            variants->setProperty("trained", trained);
        }
        const int i = variants->findData(current);
        if (i >= 0) {
            variants->setCurrentIndex(i);
            variants->setProperty("wanted", QVariant());
        } else if (variants->count() > 0) {
            // The most trained variant.
            variants->setCurrentIndex(std::max(0, variants->property("trained").toInt() - 1));
        }
    }
    if (slot == 0 && it != m_catalogues.end()) {
        m_user->setRange(0, static_cast<int>(std::max<long>(0, it->users - 1)));
        QStringList titles, categories;
        for (const auto& t : it->titles)
            titles << QString::fromStdString(t);
        for (const auto& c : it->categories)
            categories << QString::fromStdString(c);
        m_history->setCatalogue(titles);
        const QString cat = m_category->currentText();
        m_category->clear();
        m_category->addItems(categories);
        if (categories.contains(cat))
            m_category->setCurrentText(cat);
    }
    m_viewA->setHeading(tr("%1 · %2").arg(m_runA->currentText(), m_variantA->currentText()));
    m_viewB->setHeading(tr("%1 · %2").arg(m_runB->currentText(), m_variantB->currentText()));
}

void ProbePage::setCompare(bool on) { m_compare->setChecked(on); }

void ProbePage::setUser(int user)
{
    m_fromUser->setChecked(true);
    m_user->setValue(user);
}

core::ProbeRequest ProbePage::baseRequest() const
{
    using namespace probe_page_detail;
    core::ProbeRequest q;
    q.workspace = m_workspace.toStdString();
    q.task = m_task->currentData().toString().toStdString();
    if (m_fromUser->isChecked()) {
        q.user = m_user->value();
    } else {
        q.user = -1;
        for (const QString& t : m_history->history())
            q.history.push_back(t.toStdString());
    }
    q.category = m_category->currentText().toStdString();
    q.proportion_percent = m_proportion->value();
    q.k = m_k->value();
    q.free_text = m_freeText->text().toStdString();
    const int dec = m_decoding->currentData().toInt();
    q.temperature = dec == Greedy ? 0.0 : m_temperature->value();
    q.top_k = dec == TopK ? m_topK->value() : 0;
    q.top_p = dec == TopP ? m_topP->value() : 1.0;
    q.constrained = m_constrained->isChecked();
    q.max_new_tokens = m_maxTokens->value();
    q.seed = m_seed->value();
    return q;
}

void ProbePage::setWeights(int slot, core::ProbeRequest& q) const
{
    QComboBox* run = slot == 0 ? m_runA : m_runB;
    q.run_id = run->currentData().toLongLong();
    const QString variant = variantCombo(slot)->currentData().toString();
    q.variant = variant.toStdString();
    if (variant == QLatin1String("custom")) {
        q.model_path = modelEdit(slot)->text().trimmed().toStdString();
        for (const QString& a : adaptersEdit(slot)->text().split(QLatin1Char(','), Qt::SkipEmptyParts))
            if (!a.trimmed().isEmpty())
                q.adapters.push_back(a.trimmed().toStdString());
    } else if (variant.startsWith(QLatin1String("checkpoint:"))) {
        const auto it = m_catalogues.find(q.run_id);
        const size_t k = variant.mid(11).toULong();
        if (it != m_catalogues.end() && k < it->checkpoints.size()) {
            q.variant = "custom";
            q.model_path = it->checkpoints[k].model_path;
            q.adapters = it->checkpoints[k].adapters;
        }
    }
}

QVector<core::ProbeRequest> ProbePage::requests() const
{
    QVector<core::ProbeRequest> out;
    if (m_runA->count() == 0 || m_variantA->count() == 0)
        return out;
    core::ProbeRequest a = baseRequest();
    setWeights(0, a);
    out << a;
    if (m_compare->isChecked() && m_variantB->count() > 0) {
        core::ProbeRequest b = baseRequest();
        setWeights(1, b);
        out << b;
    }
    return out;
}

void ProbePage::generate()
{
    m_lastRequests = requests();
    if (!m_lastRequests.isEmpty())
        Q_EMIT generateRequested(m_lastRequests);
}

void ProbePage::showBusy(bool busy)
{
    m_generate->setEnabled(!busy);
    m_status->setText(busy ? tr("Generating in a worker thread…") : QString());
    if (busy) {
        m_viewA->showBusy();
        m_viewB->showBusy();
    } else {
        updateEnabled();
    }
}

void ProbePage::showResult(int slot, const core::ProbeResult& result)
{
    ProbeResultView* view = slot == 0 ? m_viewA : m_viewB;
    const core::ProbeRequest request = slot < m_lastRequests.size() ? m_lastRequests[slot] : baseRequest();
    view->showResult(request, result);
}

}  // namespace recalign::studio

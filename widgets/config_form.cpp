// ConfigForm: schema-generated experiment form (see config_form.h).
#include "widgets/config_form.h"

#include "core/api/experiment.h"
#include "widgets/icons.h"
#include "widgets/theme.h"

#include <QCheckBox>
#include <QComboBox>
#include <QEvent>
#include <QFileDialog>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QLocale>
#include <QMenu>
#include <QRegularExpression>
#include <QRegularExpressionValidator>
#include <QScrollArea>
#include <QScrollBar>
#include <QSpinBox>
#include <QStyle>
#include <QToolButton>
#include <QVBoxLayout>

#include <climits>
#include <cmath>

namespace recalign::widgets {

// ---- ScientificSpinBox -------------------------------------------------------------------------

ScientificSpinBox::ScientificSpinBox(QWidget* parent) : QDoubleSpinBox(parent)
{
    setDecimals(323);  // no rounding: the text decides the precision
    setRange(-1e300, 1e300);
    setKeyboardTracking(false);
    setStepType(QAbstractSpinBox::AdaptiveDecimalStepType);
}

QString ScientificSpinBox::textFromValue(double value) const
{
    return QString::number(value, 'g', QLocale::FloatingPointShortest);
}

double ScientificSpinBox::valueFromText(const QString& text) const
{
    bool ok = false;
    const double v = text.trimmed().toDouble(&ok);
    return ok ? v : value();
}

QValidator::State ScientificSpinBox::validate(QString& input, int& /*pos*/) const
{
    const QString t = input.trimmed();
    if (t.isEmpty())
        return QValidator::Intermediate;
    bool ok = false;
    const double v = t.toDouble(&ok);
    if (ok)
        return (v >= minimum() && v <= maximum()) ? QValidator::Acceptable : QValidator::Intermediate;
    static const QRegularExpression kPartial(QStringLiteral("^[-+]?[0-9]*\\.?[0-9]*([eE][-+]?[0-9]*)?$"));
    return kPartial.match(t).hasMatch() ? QValidator::Intermediate : QValidator::Invalid;
}

// ---- ConfigForm --------------------------------------------------------------------------------

struct ConfigForm::Field {
    core::ConfigField def;
    int section = 0;
    QLabel* label = nullptr;
    QWidget* row = nullptr;     // editor + error label
    QWidget* editor = nullptr;  // the focusable editor
    QLabel* error = nullptr;
    QCheckBox* check = nullptr;
    QSpinBox* spin = nullptr;
    ScientificSpinBox* dspin = nullptr;
    QComboBox* combo = nullptr;
    QLineEdit* line = nullptr;
    std::vector<QCheckBox*> choiceBoxes;
    QString defaultText;  // the default as readEditor() writes it
};

namespace config_form_detail {

QString qs(const std::string& s)
{
    return QString::fromStdString(s);
}

bool isList(core::ConfigField::Type t)
{
    using T = core::ConfigField::Type;
    return t == T::StringList || t == T::IntList || t == T::DoubleList;
}

// "dataset.synthetic.users" in group "dataset" -> "synthetic › users".
QString fieldLabel(const core::ConfigField& f)
{
    QString key = qs(f.key);
    const QString group = qs(f.group);
    if (key.startsWith(group + QLatin1Char('.')))
        key = key.mid(group.size() + 1);
    key.replace(QLatin1Char('_'), QLatin1Char(' '));
    key.replace(QLatin1Char('.'), QStringLiteral(" › "));
    return key;
}

// Numbers as the experiment file writes them (core::yamlFormatNumber).
QString numberText(double v)
{
    return qs(core::yamlFormatNumber(v));
}

// The YAML scalar helpers of core/api/experiment.h on Qt strings.
std::string stdString(const QString& s)
{
    return s.toStdString();
}

QStringList qsList(const std::vector<std::string>& items)
{
    QStringList out;
    for (const auto& item : items)
        out << qs(item);
    return out;
}

std::vector<std::string> stdStrings(const QStringList& items)
{
    std::vector<std::string> out;
    for (const QString& item : items)
        out.push_back(stdString(item));
    return out;
}

}  // namespace config_form_detail

using config_form_detail::fieldLabel;
using config_form_detail::isList;
using config_form_detail::numberText;
using config_form_detail::qs;
using config_form_detail::qsList;
using config_form_detail::stdString;
using config_form_detail::stdStrings;

ConfigForm::ConfigForm(QWidget* parent) : QWidget(parent)
{
    auto* outer = new QVBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    outer->setSpacing(6);
    m_filter = new QLineEdit(this);
    m_filter->setClearButtonEnabled(true);
    m_filter->addAction(icon(QStringLiteral("filter")), QLineEdit::LeadingPosition);
    outer->addWidget(m_filter);
    m_banner = new QLabel(this);
    m_banner->setWordWrap(true);
    m_banner->setVisible(false);
    m_banner->setContentsMargins(8, 6, 8, 6);
    outer->addWidget(m_banner);

    auto* split = new QHBoxLayout;
    split->setSpacing(0);
    m_nav = new QListWidget(this);
    m_nav->setFixedWidth(190);
    m_nav->setFrameShape(QFrame::NoFrame);
    m_nav->setSpacing(2);
    m_nav->setIconSize(QSize(16, 16));
    m_scroll = new QScrollArea(this);
    m_scroll->setWidgetResizable(true);
    m_scroll->setFrameShape(QFrame::NoFrame);
    m_body = new QWidget(m_scroll);
    m_bodyLayout = new QVBoxLayout(m_body);
    m_bodyLayout->setContentsMargins(8, 0, 12, 12);
    m_bodyLayout->setSpacing(10);
    m_scroll->setWidget(m_body);
    split->addWidget(m_nav);
    split->addWidget(m_scroll, 1);
    outer->addLayout(split, 1);

    connect(m_filter, &QLineEdit::textChanged, this, &ConfigForm::setFilterText);
    connect(m_nav, &QListWidget::currentRowChanged, this, [this](int row) {
        if (row >= 0 && row < static_cast<int>(m_sections.size()))
            m_scroll->verticalScrollBar()->setValue(m_sections[static_cast<size_t>(row)].box->y());
    });
    retranslate();
}

ConfigForm::~ConfigForm() = default;

void ConfigForm::retranslate()
{
    m_filter->setPlaceholderText(tr("Filter fields by name or description…"));
    for (size_t i = 0; i < m_sections.size(); ++i) {
        const QString title = groupTitle(m_sections[i].group);
        static_cast<QGroupBox*>(m_sections[i].box)->setTitle(title);
        if (QListWidgetItem* item = m_nav->item(static_cast<int>(i)))
            item->setText(title);
    }
}

void ConfigForm::changeEvent(QEvent* event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::LanguageChange)
        retranslate();
    if (event->type() == QEvent::PaletteChange) {
        const QString css = QStringLiteral("color: %1").arg(errorTextColor(palette()).name());
        for (auto& f : m_rows)
            f->error->setStyleSheet(css);
    }
}

QString ConfigForm::groupTitle(const std::string& group) const
{
    if (group == "experiment") return tr("Experiment");
    if (group == "dataset") return tr("Dataset");
    if (group == "teacher") return tr("SASRec teacher");
    if (group == "model") return tr("Language model");
    if (group == "tokenizer") return tr("Tokenizer");
    if (group == "sft") return tr("Supervised fine-tuning");
    if (group == "ppo") return tr("PPO");
    if (group == "reward") return tr("Reward");
    if (group == "evaluation") return tr("Evaluation");
    if (group == "dpo") return tr("DPO / S-DPO");
    if (group == "distributed") return tr("Distributed");
    if (group == "probe") return tr("Probe");
    QString t = qs(group);
    t.replace(QLatin1Char('_'), QLatin1Char(' '));
    if (!t.isEmpty())
        t[0] = t[0].toUpper();
    return t;
}

void ConfigForm::setSchema(const std::vector<core::ConfigField>& fields)
{
    m_fields = fields;
    rebuild();
}

void ConfigForm::rebuild()
{
    m_rows.clear();
    for (auto& s : m_sections)
        delete s.box;
    m_sections.clear();
    m_nav->clear();
    while (QLayoutItem* item = m_bodyLayout->takeAt(0))
        delete item;

    const QString errCss = QStringLiteral("color: %1").arg(errorTextColor(palette()).name());
    for (const auto& def : m_fields) {
        const std::string group = def.group.empty() ? std::string("experiment") : def.group;
        int sectionIndex = -1;
        for (size_t i = 0; i < m_sections.size(); ++i)
            if (m_sections[i].group == group)
                sectionIndex = static_cast<int>(i);
        if (sectionIndex < 0) {
            Section s;
            s.group = group;
            auto* box = new QGroupBox(groupTitle(group), m_body);
            s.box = box;
            s.form = new QFormLayout(box);
            s.form->setFieldGrowthPolicy(QFormLayout::ExpandingFieldsGrow);
            s.form->setLabelAlignment(Qt::AlignRight | Qt::AlignVCenter);
            s.form->setHorizontalSpacing(14);
            s.form->setVerticalSpacing(6);
            s.form->setContentsMargins(12, 10, 12, 10);
            m_bodyLayout->addWidget(box);
            m_sections.push_back(s);
            m_nav->addItem(groupTitle(group));
            sectionIndex = static_cast<int>(m_sections.size()) - 1;
        }
        auto field = std::make_unique<Field>();
        field->def = def;
        field->section = sectionIndex;
        Section& sec = m_sections[static_cast<size_t>(sectionIndex)];
        field->row = new QWidget(sec.box);
        field->row->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
        auto* rowLayout = new QVBoxLayout(field->row);
        rowLayout->setContentsMargins(0, 0, 0, 0);
        rowLayout->setSpacing(2);
        QWidget* editorWidget = createEditor(*field);
        using T = core::ConfigField::Type;
        const bool compact = def.type == T::Bool || def.type == T::Int || def.type == T::Double || def.type == T::Enum;
        rowLayout->addWidget(editorWidget, 0, compact ? Qt::AlignLeft : Qt::Alignment());
        field->error = new QLabel(field->row);
        field->error->setWordWrap(true);
        field->error->setStyleSheet(errCss);
        field->error->setVisible(false);
        rowLayout->addWidget(field->error);
        field->label = new QLabel(fieldLabel(def), sec.box);
        field->label->setBuddy(field->editor);

        QString tip = QStringLiteral("<b>%1</b>").arg(qs(def.key).toHtmlEscaped());
        if (!def.doc.empty())
            tip += QStringLiteral("<br>") + qs(def.doc).toHtmlEscaped();
        tip += QStringLiteral("<br><span style=\"color:gray\">") +
               tr("default: %1").arg(qs(def.default_value).toHtmlEscaped());
        if (def.has_range)
            tip += QStringLiteral(" · ") + tr("range: %1 … %2").arg(numberText(def.min), numberText(def.max));
        tip += QStringLiteral("</span>");
        field->label->setToolTip(tip);
        field->editor->setToolTip(tip);
        sec.form->addRow(field->label, field->row);
        m_rows.push_back(std::move(field));
        m_loading = true;
        writeEditor(*m_rows.back(), qs(def.default_value));
        m_loading = false;
        // The default in the normal form readEditor() produces, for "changed" marks.
        m_rows.back()->defaultText = readEditor(*m_rows.back());
    }
    m_bodyLayout->addStretch(1);
    setIssues({});
}

QWidget* ConfigForm::createEditor(Field& f)
{
    using T = core::ConfigField::Type;
    QWidget* parent = f.row;
    const auto& def = f.def;
    switch (def.type) {
    case T::Bool: {
        f.check = new QCheckBox(parent);
        connect(f.check, &QCheckBox::toggled, this, [this, &f] { onEdited(f); });
        f.editor = f.check;
        return f.check;
    }
    case T::Int: {
        f.spin = new QSpinBox(parent);
        const double lo = def.has_range ? std::max<double>(def.min, INT_MIN) : INT_MIN;
        const double hi = def.has_range ? std::min<double>(def.max, INT_MAX) : INT_MAX;
        f.spin->setRange(static_cast<int>(lo), static_cast<int>(hi));
        f.spin->setKeyboardTracking(false);
        f.spin->setGroupSeparatorShown(false);
        f.spin->setMaximumWidth(180);
        connect(f.spin, qOverload<int>(&QSpinBox::valueChanged), this, [this, &f] { onEdited(f); });
        f.editor = f.spin;
        return f.spin;
    }
    case T::Double: {
        f.dspin = new ScientificSpinBox(parent);
        if (def.has_range)
            f.dspin->setRange(def.min, def.max);
        f.dspin->setMaximumWidth(180);
        connect(f.dspin, qOverload<double>(&QDoubleSpinBox::valueChanged), this,
                [this, &f] { onEdited(f); });
        f.editor = f.dspin;
        return f.dspin;
    }
    case T::Enum: {
        f.combo = new QComboBox(parent);
        for (const auto& c : def.choices)
            f.combo->addItem(qs(c), qs(c));
        f.combo->setSizeAdjustPolicy(QComboBox::AdjustToContents);
        connect(f.combo, qOverload<int>(&QComboBox::currentIndexChanged), this,
                [this, &f] { onEdited(f); });
        f.editor = f.combo;
        return f.combo;
    }
    case T::Path: {
        auto* host = new QWidget(parent);
        auto* h = new QHBoxLayout(host);
        h->setContentsMargins(0, 0, 0, 0);
        h->setSpacing(4);
        f.line = new QLineEdit(host);
        auto* browse = new QToolButton(host);
        browse->setIcon(icon(QStringLiteral("browse")));
        browse->setToolTip(tr("Choose a file"));
        browse->setPopupMode(QToolButton::MenuButtonPopup);
        auto* menu = new QMenu(browse);
        auto chooseFile = [this, &f] {
            const QString p = QFileDialog::getOpenFileName(this, tr("Choose a file"), f.line->text());
            if (!p.isEmpty())
                f.line->setText(p);
        };
        auto chooseDir = [this, &f] {
            const QString p = QFileDialog::getExistingDirectory(this, tr("Choose a folder"), f.line->text());
            if (!p.isEmpty())
                f.line->setText(p);
        };
        menu->addAction(tr("Choose a file…"), this, chooseFile);
        menu->addAction(tr("Choose a folder…"), this, chooseDir);
        browse->setMenu(menu);
        connect(browse, &QToolButton::clicked, this, chooseFile);
        h->addWidget(f.line, 1);
        h->addWidget(browse);
        connect(f.line, &QLineEdit::textEdited, this, [this, &f] { onEdited(f); });
        connect(f.line, &QLineEdit::editingFinished, this, [this, &f] { markChanged(f); });
        f.editor = f.line;
        return host;
    }
    case T::StringList:
    case T::IntList:
    case T::DoubleList: {
        if (!def.choices.empty()) {  // a subset of known choices: one check box each
            auto* host = new QWidget(parent);
            auto* grid = new QGridLayout(host);
            grid->setContentsMargins(0, 0, 0, 0);
            grid->setHorizontalSpacing(12);
            grid->setVerticalSpacing(2);
            const int cols = def.choices.size() > 6 ? 4 : static_cast<int>(def.choices.size());
            for (size_t i = 0; i < def.choices.size(); ++i) {
                auto* box = new QCheckBox(qs(def.choices[i]), host);
                grid->addWidget(box, static_cast<int>(i) / cols, static_cast<int>(i) % cols);
                connect(box, &QCheckBox::toggled, this, [this, &f] { onEdited(f); });
                f.choiceBoxes.push_back(box);
            }
            f.editor = f.choiceBoxes.empty() ? host : f.choiceBoxes.front();
            return host;
        }
        f.line = new QLineEdit(parent);
        f.line->setPlaceholderText(tr("comma-separated, e.g. %1").arg(
            def.type == T::StringList ? QStringLiteral("a, b") : QStringLiteral("1, 5, 10")));
        if (def.type != T::StringList) {
            const QString num = def.type == T::IntList
                                    ? QStringLiteral("[-+]?[0-9]+")
                                    : QStringLiteral("[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?");
            f.line->setValidator(new QRegularExpressionValidator(
                QRegularExpression(QStringLiteral("^\\s*\\[?\\s*(%1(\\s*,\\s*%1)*)?\\s*,?\\s*\\]?\\s*$").arg(num)),
                f.line));
        }
        connect(f.line, &QLineEdit::textEdited, this, [this, &f] { onEdited(f); });
        connect(f.line, &QLineEdit::editingFinished, this, [this, &f] { markChanged(f); });
        f.editor = f.line;
        return f.line;
    }
    case T::String:
        break;
    }
    f.line = new QLineEdit(parent);
    connect(f.line, &QLineEdit::textEdited, this, [this, &f] { onEdited(f); });
    f.editor = f.line;
    return f.line;
}

void ConfigForm::writeEditor(Field& f, const QString& yamlText)
{
    using T = core::ConfigField::Type;
    switch (f.def.type) {
    case T::Bool: {
        bool b = false;
        core::yamlParseBool(stdString(yamlText), &b);
        f.check->setChecked(b);
        return;
    }
    case T::Int:
        f.spin->setValue(qs(core::yamlUnquote(stdString(yamlText))).toInt());
        return;
    case T::Double:
        f.dspin->setValue(qs(core::yamlUnquote(stdString(yamlText))).toDouble());
        return;
    case T::Enum: {
        const QString v = qs(core::yamlUnquote(stdString(yamlText)));
        int idx = f.combo->findData(v);
        if (idx < 0) {  // keep an unknown value visible so it round-trips and validation names it
            f.combo->addItem(v, v);
            idx = f.combo->count() - 1;
        }
        f.combo->setCurrentIndex(idx);
        return;
    }
    case T::StringList:
    case T::IntList:
    case T::DoubleList: {
        const QStringList items = qsList(core::yamlParseFlowList(stdString(yamlText)));
        if (!f.choiceBoxes.empty()) {
            for (QCheckBox* box : f.choiceBoxes)
                box->setChecked(items.contains(box->text()));
        } else {
            QStringList shown;
            for (const QString& item : items)
                shown << (f.def.type == T::StringList ? qs(core::yamlQuoteIfNeeded(stdString(item))) : item);
            f.line->setText(shown.join(QStringLiteral(", ")));
        }
        return;
    }
    case T::Path:
    case T::String:
        f.line->setText(qs(core::yamlUnquote(stdString(yamlText))));
        return;
    }
}

QString ConfigForm::readEditor(const Field& f) const
{
    using T = core::ConfigField::Type;
    switch (f.def.type) {
    case T::Bool: return f.check->isChecked() ? QStringLiteral("true") : QStringLiteral("false");
    case T::Int: return QString::number(f.spin->value());
    case T::Double: return numberText(f.dspin->value());
    case T::Enum: return f.combo->currentData().toString();
    case T::StringList:
    case T::IntList:
    case T::DoubleList: {
        QStringList items;
        if (!f.choiceBoxes.empty()) {
            for (QCheckBox* box : f.choiceBoxes)
                if (box->isChecked())
                    items << box->text();
        } else {
            items = qsList(core::yamlParseFlowList(stdString(f.line->text())));
            items.removeAll(QString());
        }
        return qs(core::yamlFormatFlowList(stdStrings(items), f.def.type == T::StringList));
    }
    case T::Path:
    case T::String: return f.line->text();  // plain text, as core::setFieldFromText takes it
    }
    return {};
}

void ConfigForm::markChanged(Field& f)
{
    QFont font = f.label->font();
    font.setBold(readEditor(f) != f.defaultText);
    f.label->setFont(font);
}

void ConfigForm::onEdited(Field& f)
{
    if (m_loading)
        return;
    markChanged(f);
    Q_EMIT valueEdited(qs(f.def.key));
}

ConfigForm::Field* ConfigForm::find(const std::string& key) const
{
    for (const auto& f : m_rows)
        if (f->def.key == key)
            return f.get();
    return nullptr;
}

QStringList ConfigForm::setValues(const std::map<std::string, std::string>& values)
{
    QStringList unknown;
    for (const auto& [key, text] : values)
        if (!setValue(key, text))
            unknown << qs(key);
    return unknown;
}

bool ConfigForm::setValue(const std::string& key, const std::string& yamlText)
{
    Field* f = find(key);
    if (!f)
        return false;
    m_loading = true;
    writeEditor(*f, qs(yamlText));
    m_loading = false;
    markChanged(*f);
    return true;
}

void ConfigForm::resetToDefaults()
{
    for (auto& f : m_rows) {
        m_loading = true;
        writeEditor(*f, qs(f->def.default_value));
        m_loading = false;
        markChanged(*f);
    }
}

std::map<std::string, std::string> ConfigForm::values() const
{
    std::map<std::string, std::string> out;
    for (const auto& f : m_rows)
        out[f->def.key] = readEditor(*f).toStdString();
    return out;
}

std::map<std::string, std::string> ConfigForm::changedValues() const
{
    std::map<std::string, std::string> out;
    for (const auto& f : m_rows)
        if (const QString v = readEditor(*f); v != f->defaultText)
            out[f->def.key] = v.toStdString();
    return out;
}

std::string ConfigForm::value(const std::string& key) const
{
    const Field* f = find(key);
    return f ? readEditor(*f).toStdString() : std::string();
}

void ConfigForm::setIssues(const std::vector<core::ConfigIssue>& issues)
{
    std::map<Field*, QStringList> byField;
    m_bannerIssues.clear();
    for (const auto& issue : issues) {
        Field* f = find(issue.key);
        // An issue on "ppo.actor_lora" or "ppo.actor_lora.targets[2]" goes to the closest field.
        if (!f) {
            std::string k = issue.key;
            const auto bracket = k.find('[');
            if (bracket != std::string::npos)
                f = find(k.substr(0, bracket));
        }
        const QString text = issue.line > 0
                                 ? tr("%1 (line %2)").arg(qs(issue.message)).arg(issue.line)
                                 : qs(issue.message);
        if (f)
            byField[f] << text;
        else
            m_bannerIssues << (issue.key.empty() ? text : qs(issue.key) + QStringLiteral(": ") + text);
    }
    m_issueCount = static_cast<int>(issues.size());
    for (auto& f : m_rows) {
        const auto it = byField.find(f.get());
        const bool bad = it != byField.end();
        f->error->setText(bad ? it->second.join(QLatin1Char('\n')) : QString());
        f->error->setVisible(bad);
        f->editor->setProperty("invalid", bad);
        f->editor->style()->unpolish(f->editor);
        f->editor->style()->polish(f->editor);
    }
    for (int i = 0; i < m_nav->count(); ++i) {
        bool bad = false;
        for (const auto& [field, _] : byField)
            bad = bad || field->section == i;
        m_nav->item(i)->setIcon(icon(bad ? QStringLiteral("error") : QStringLiteral("configure")));
        m_nav->item(i)->setToolTip(bad ? tr("This section has fields with problems") : QString());
    }
    m_banner->setVisible(!m_bannerIssues.isEmpty());
    if (!m_bannerIssues.isEmpty()) {
        m_banner->setText(m_bannerIssues.join(QLatin1Char('\n')));
        m_banner->setStyleSheet(QStringLiteral("color: %1; border: 1px solid %1; border-radius: 3px;")
                                    .arg(errorTextColor(palette()).name()));
    }
}

void ConfigForm::clearIssues()
{
    setIssues({});
}

bool ConfigForm::focusFirstIssue()
{
    for (const auto& f : m_rows) {
        if (!f->error->text().isEmpty()) {
            m_scroll->ensureWidgetVisible(f->row);
            f->editor->setFocus(Qt::OtherFocusReason);
            return true;
        }
    }
    return false;
}

void ConfigForm::setFilterText(const QString& text)
{
    const QString t = text.trimmed();
    std::vector<int> visible(m_sections.size(), 0);
    for (const auto& f : m_rows) {
        const bool show = t.isEmpty() || qs(f->def.key).contains(t, Qt::CaseInsensitive) ||
                          f->label->text().contains(t, Qt::CaseInsensitive) ||
                          qs(f->def.doc).contains(t, Qt::CaseInsensitive);
        m_sections[static_cast<size_t>(f->section)].form->setRowVisible(f->row, show);
        visible[static_cast<size_t>(f->section)] += show;
    }
    for (size_t i = 0; i < m_sections.size(); ++i) {
        m_sections[i].box->setVisible(visible[i] > 0);
        m_nav->item(static_cast<int>(i))->setHidden(visible[i] == 0);
    }
}

QWidget* ConfigForm::editorFor(const std::string& key) const
{
    const Field* f = find(key);
    return f ? f->editor : nullptr;
}

QLabel* ConfigForm::errorLabelFor(const std::string& key) const
{
    const Field* f = find(key);
    return f ? f->error : nullptr;
}

}  // namespace recalign::widgets

// Pieces of the Probe panel: a heat strip of per-token log-probabilities (tokens coloured from
// red = unlikely to green = likely, tooltips with the numbers) and a history editor with a
// completer over the catalogue's titles.
#pragma once

#include <QColor>
#include <QHash>
#include <QStringList>
#include <QWidget>

#include <string>
#include <vector>

class QCompleter;
class QLabel;
class QLineEdit;
class QListWidget;
class QStringListModel;
class QToolButton;

namespace recalign::widgets {

struct TokenLogProb {
    std::string text;  // the token's text as decoded (may start with a space)
    double logprob = 0.0;  // natural log of the token's probability under the model
};

// Colour for a log-probability: green at p = 1 through yellow to red at p <= e^-7 (~0.001).
// Pure; used by the strip and its legend.
QColor logProbColor(double logprob, bool dark);

class TokenHeatStrip : public QWidget {
    Q_OBJECT
public:
    explicit TokenHeatStrip(QWidget* parent = nullptr);

    void setTokens(std::vector<TokenLogProb> tokens);
    const std::vector<TokenLogProb>& tokens() const { return m_tokens; }
    void clear() { setTokens({}); }

    // Index of the token drawn at `pos` (widget coordinates), or -1.
    int tokenAt(const QPoint& pos) const;
    // Tooltip text for token i ("" when out of range).
    QString tokenToolTip(int index) const;
    // Mean log-probability and perplexity exp(-mean) of the tokens (NaN when empty).
    double meanLogProb() const;

    bool hasHeightForWidth() const override { return true; }
    int heightForWidth(int width) const override;
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    bool event(QEvent* event) override;
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;

private:
    struct Chip {
        QRect rect;
        QString label;
    };
    std::vector<Chip> layoutChips(int width, int* height) const;
    void relayout();

    std::vector<TokenLogProb> m_tokens;
    std::vector<Chip> m_chips;
    int m_legendHeight = 0;
};

// Edits a user history as an ordered list of catalogue titles (oldest first).
class HistoryEditor : public QWidget {
    Q_OBJECT
public:
    explicit HistoryEditor(QWidget* parent = nullptr);

    // Titles offered by the completer; addTitle() accepts only these (case-insensitive) unless
    // the catalogue is empty.
    void setCatalogue(const QStringList& titles);
    void setHistory(const QStringList& titles);
    QStringList history() const;

    // Adds a title (its catalogue spelling); false and a message when it is not in the catalogue.
    bool addTitle(const QString& title);
    void removeAt(int row);
    void moveUp(int row);
    void moveDown(int row);

    QCompleter* completer() const { return m_completer; }
    QLineEdit* lineEdit() const { return m_input; }
    QString message() const;

Q_SIGNALS:
    void historyChanged();

protected:
    void changeEvent(QEvent* event) override;

private:
    void retranslate();
    void updateButtons();

    QStringListModel* m_catalogueModel = nullptr;
    QCompleter* m_completer = nullptr;
    QLineEdit* m_input = nullptr;
    QToolButton* m_add = nullptr;
    QListWidget* m_list = nullptr;
    QToolButton* m_remove = nullptr;
    QToolButton* m_up = nullptr;
    QToolButton* m_down = nullptr;
    QToolButton* m_clear = nullptr;
    QLabel* m_message = nullptr;
    QLabel* m_title = nullptr;
    QHash<QString, QString> m_canonical;  // lower-case title -> catalogue spelling
};

}  // namespace recalign::widgets

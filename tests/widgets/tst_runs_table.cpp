// RunsTable: differing config keys become columns, numeric / text sorting with missing values
// last, choosing metric columns, the text filter, selection signals and selectRuns round trips.
#include "widgets/icons.h"
#include "widgets/runs_table.h"
#include "widgets/theme.h"

#include <QAction>
#include <QApplication>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLineEdit>
#include <QMenu>
#include <QSignalSpy>
#include <QTableView>
#include <QtTest>

using namespace recalign::widgets;

namespace {

RunsTableRow row(int64_t id, const QString& name, std::map<std::string, std::string> config,
                 std::map<std::string, double> metrics, int64_t seed = 0, const QString& group = {})
{
    RunsTableRow r;
    r.id = id;
    r.name = name;
    r.group = group;
    r.seed = seed;
    r.status = QStringLiteral("finished");
    r.config = std::move(config);
    r.metrics = std::move(metrics);
    return r;
}

// Three runs: ppo.kl_coef and sft.epochs differ ("9" vs "10" sorts numerically), model.dim is
// equal everywhere, tag differs and is text; run 3 lacks sft.epochs and "full HR@10 (i0)".
std::vector<RunsTableRow> sampleRows()
{
    return {
        row(1, QStringLiteral("alpha"),
            {{"model.dim", "64"}, {"ppo.kl_coef", "0.05"}, {"sft.epochs", "9"}, {"tag", "b"}},
            {{"full HR@10 (i0)", 0.30}, {"full TCP (+C)", 4.0}}, 0, QStringLiteral("quick")),
        row(2, QStringLiteral("beta"),
            {{"model.dim", "64"}, {"ppo.kl_coef", "0.1"}, {"sft.epochs", "10"}, {"tag", "a"}},
            {{"full HR@10 (i0)", 0.10}, {"full TCP (+C)", 5.0}}, 1, QStringLiteral("quick")),
        row(3, QStringLiteral("gamma"), {{"model.dim", "64"}, {"ppo.kl_coef", "0.2"}, {"tag", "c"}},
            {{"full TCP (+C)", 3.0}, {"ppo_full list reward (val)", 0.7}}, 2),
    };
}

QStringList headers(const RunsTable& t)
{
    QStringList out;
    for (int c = 0; c < t.model()->columnCount(); ++c)
        out << t.model()->headerData(c, Qt::Horizontal, Qt::DisplayRole).toString();
    return out;
}

// The run ids down the (sorted, filtered) view.
QList<qint64> viewOrder(const RunsTable& t)
{
    QList<qint64> out;
    for (int r = 0; r < t.proxy()->rowCount(); ++r)
        out << t.proxy()->index(r, 0).data(RunsTableModel::RunIdRole).toLongLong();
    return out;
}

}  // namespace

class TstRunsTable : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void differingKeysBecomeColumnsAndEqualKeysDoNot();
    void singleRunShowsNoConfigColumns();
    void numericColumnsSortAsNumbersWithMissingLast();
    void textColumnsSortAsText();
    void chosenMetricColumnsShowInOrderAndFollowTheMenu();
    void filterMatchesAnyColumn();
    void selectingRowsEmitsRunIds();
    void selectRunsRoundTripsWithoutFeedback();
    void setRowsKeepsSelectionAndSort();
    void screenshot();
};

void TstRunsTable::initTestCase()
{
    initResources();
    applyTheme(*qApp, Theme::Light);
}

void TstRunsTable::differingKeysBecomeColumnsAndEqualKeysDoNot()
{
    RunsTable t;
    t.setRows(sampleRows());
    const QStringList h = headers(t);
    QCOMPARE(h.size(), 5 + 3);  // id, name, group, seed, status + 3 differing keys, no metrics chosen
    QCOMPARE(h.mid(5), (QStringList{QStringLiteral("ppo.kl_coef"), QStringLiteral("sft.epochs"), QStringLiteral("tag")}));
    QVERIFY(!h.contains(QStringLiteral("model.dim")));
    QCOMPARE(t.model()->configColumn(QStringLiteral("model.dim")), -1);
    QVERIFY(t.model()->isNumericColumn(t.model()->configColumn(QStringLiteral("sft.epochs"))));
    QVERIFY(!t.model()->isNumericColumn(t.model()->configColumn(QStringLiteral("tag"))));
    // Cells: the value text, "" where the run lacks the key; group label and seed.
    const int epochs = t.model()->configColumn(QStringLiteral("sft.epochs"));
    QCOMPARE(t.model()->index(1, epochs).data().toString(), QStringLiteral("10"));
    QCOMPARE(t.model()->index(2, epochs).data().toString(), QString());
    QCOMPARE(t.model()->index(0, RunsTableModel::GroupColumn).data().toString(), QStringLiteral("quick"));
    QCOMPARE(t.model()->index(2, RunsTableModel::GroupColumn).data().toString(), QString());
    QCOMPARE(t.model()->index(2, RunsTableModel::SeedColumn).data().toString(), QStringLiteral("2"));
}

void TstRunsTable::singleRunShowsNoConfigColumns()
{
    RunsTable t;
    auto rows = sampleRows();
    rows.resize(1);
    t.setRows(rows);
    QCOMPARE(t.model()->columnCount(), static_cast<int>(RunsTableModel::FixedColumns));
}

void TstRunsTable::numericColumnsSortAsNumbersWithMissingLast()
{
    RunsTable t;
    t.setRows(sampleRows());
    const int epochs = t.model()->configColumn(QStringLiteral("sft.epochs"));
    t.view()->sortByColumn(epochs, Qt::AscendingOrder);
    QCOMPARE(viewOrder(t), (QList<qint64>{1, 2, 3}));  // 9, 10, missing
    t.view()->sortByColumn(epochs, Qt::DescendingOrder);
    QCOMPARE(viewOrder(t), (QList<qint64>{2, 1, 3}));  // 10, 9, still missing last

    // 0.05 < 0.1 < 0.2 as numbers (a natural text sort would put 0.1 before 0.05).
    const int kl = t.model()->configColumn(QStringLiteral("ppo.kl_coef"));
    QCOMPARE(t.model()->index(0, kl).data(RunsTableModel::SortRole).userType(), int(QMetaType::Double));
    t.view()->sortByColumn(kl, Qt::AscendingOrder);
    QCOMPARE(viewOrder(t), (QList<qint64>{1, 2, 3}));
    t.view()->sortByColumn(kl, Qt::DescendingOrder);
    QCOMPARE(viewOrder(t), (QList<qint64>{3, 2, 1}));

    t.setChosenMetrics({QStringLiteral("full HR@10 (i0)")});
    const int hr = t.model()->metricColumn(QStringLiteral("full HR@10 (i0)"));
    QVERIFY(hr >= 0);
    t.view()->sortByColumn(hr, Qt::AscendingOrder);
    QCOMPARE(viewOrder(t), (QList<qint64>{2, 1, 3}));  // 0.10, 0.30, missing
    t.view()->sortByColumn(hr, Qt::DescendingOrder);
    QCOMPARE(viewOrder(t), (QList<qint64>{1, 2, 3}));

    t.view()->sortByColumn(RunsTableModel::IdColumn, Qt::DescendingOrder);
    QCOMPARE(viewOrder(t), (QList<qint64>{3, 2, 1}));
}

void TstRunsTable::textColumnsSortAsText()
{
    RunsTable t;
    t.setRows(sampleRows());
    const int tag = t.model()->configColumn(QStringLiteral("tag"));
    t.view()->sortByColumn(tag, Qt::AscendingOrder);
    QCOMPARE(viewOrder(t), (QList<qint64>{2, 1, 3}));  // a, b, c
    // Group: text with the ungrouped run last either way.
    t.view()->sortByColumn(RunsTableModel::GroupColumn, Qt::DescendingOrder);
    QCOMPARE(viewOrder(t).last(), qint64(3));
    t.view()->sortByColumn(RunsTableModel::GroupColumn, Qt::AscendingOrder);
    QCOMPARE(viewOrder(t).last(), qint64(3));
}

void TstRunsTable::chosenMetricColumnsShowInOrderAndFollowTheMenu()
{
    RunsTable t;
    // Chosen before rows arrive (the caller's defaults); a name no row has is remembered.
    t.setChosenMetrics({QStringLiteral("full TCP (+C)"), QStringLiteral("nope"), QStringLiteral("full HR@10 (i0)")});
    t.setRows(sampleRows());
    QCOMPARE(t.availableMetrics(), (QStringList{QStringLiteral("full HR@10 (i0)"), QStringLiteral("full TCP (+C)"),
                                                QStringLiteral("ppo_full list reward (val)")}));
    QCOMPARE(headers(t).mid(8), (QStringList{QStringLiteral("full TCP (+C)"), QStringLiteral("full HR@10 (i0)")}));
    const int tcp = t.model()->metricColumn(QStringLiteral("full TCP (+C)"));
    QCOMPARE(t.model()->index(1, tcp).data().toString(), QStringLiteral("5"));
    QCOMPARE(t.model()->index(2, t.model()->metricColumn(QStringLiteral("full HR@10 (i0)"))).data().toString(), QString());

    // The menu lists every metric key, checked where chosen; toggling changes the columns.
    const QList<QAction*> actions = t.metricsMenu()->actions();
    QCOMPARE(actions.size(), 3);
    QVERIFY(actions[0]->isChecked());
    QVERIFY(actions[1]->isChecked());
    QVERIFY(!actions[2]->isChecked());
    QSignalSpy chosen(&t, &RunsTable::chosenMetricsChanged);
    t.metricsMenu()->actions()[2]->trigger();  // add the list reward
    QCOMPARE(chosen.count(), 1);
    QCOMPARE(headers(t).last(), QStringLiteral("ppo_full list reward (val)"));
    t.metricsMenu()->actions()[1]->trigger();  // drop TCP
    QCOMPARE(chosen.count(), 2);
    QCOMPARE(t.model()->metricColumn(QStringLiteral("full TCP (+C)")), -1);
    QCOMPARE(headers(t).mid(8),
             (QStringList{QStringLiteral("full HR@10 (i0)"), QStringLiteral("ppo_full list reward (val)")}));
    QVERIFY(!t.chosenMetrics().contains(QStringLiteral("full TCP (+C)")));
    QVERIFY(t.chosenMetrics().contains(QStringLiteral("nope")));  // still remembered
}

void TstRunsTable::filterMatchesAnyColumn()
{
    RunsTable t;
    t.setRows(sampleRows());
    t.setFilterText(QStringLiteral("BETA"));
    QCOMPARE(viewOrder(t), (QList<qint64>{2}));
    t.setFilterText(QStringLiteral("0.2"));  // a config value
    QCOMPARE(viewOrder(t), (QList<qint64>{3}));
    t.setFilterText(QString());
    QCOMPARE(viewOrder(t).size(), 3);
}

void TstRunsTable::selectingRowsEmitsRunIds()
{
    RunsTable t;
    t.setRows(sampleRows());
    t.view()->sortByColumn(RunsTableModel::IdColumn, Qt::AscendingOrder);
    QSignalSpy spy(&t, &RunsTable::selectionChanged);
    QItemSelectionModel* sm = t.view()->selectionModel();
    sm->select(t.proxy()->index(0, 0), QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.last().at(0).value<QList<qint64>>(), (QList<qint64>{1}));
    sm->select(t.proxy()->index(2, 0), QItemSelectionModel::Select | QItemSelectionModel::Rows);
    QCOMPARE(spy.count(), 2);
    QCOMPARE(spy.last().at(0).value<QList<qint64>>(), (QList<qint64>{1, 3}));
    QCOMPARE(t.selectedRuns(), (QList<qint64>{1, 3}));
    // A click in the view selects the whole row.
    t.show();
    QVERIFY(QTest::qWaitForWindowExposed(&t));
    const QRect rect = t.view()->visualRect(t.proxy()->index(1, RunsTableModel::NameColumn));
    QTest::mouseClick(t.view()->viewport(), Qt::LeftButton, Qt::NoModifier, rect.center());
    QCOMPARE(spy.last().at(0).value<QList<qint64>>(), (QList<qint64>{2}));
    sm->clearSelection();
    QCOMPARE(spy.last().at(0).value<QList<qint64>>(), QList<qint64>{});
}

void TstRunsTable::selectRunsRoundTripsWithoutFeedback()
{
    RunsTable t;
    t.setRows(sampleRows());
    QSignalSpy spy(&t, &RunsTable::selectionChanged);
    t.selectRuns({3, 1, 99});  // 99 is not in the table
    QCOMPARE(spy.count(), 0);
    QList<qint64> got = t.selectedRuns();
    std::sort(got.begin(), got.end());
    QCOMPARE(got, (QList<qint64>{1, 3}));
    QCOMPARE(t.view()->selectionModel()->selectedRows().size(), 2);
    t.selectRuns({});
    QCOMPARE(spy.count(), 0);
    QVERIFY(t.selectedRuns().isEmpty());
    // A user change after a programmatic one still emits.
    t.selectRuns({2});
    t.view()->selectionModel()->select(t.proxy()->index(t.proxy()->rowCount() - 1, 0),
                                       QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    QCOMPARE(spy.count(), 1);
}

void TstRunsTable::setRowsKeepsSelectionAndSort()
{
    RunsTable t;
    t.setRows(sampleRows());
    const int epochs = t.model()->configColumn(QStringLiteral("sft.epochs"));
    t.view()->sortByColumn(epochs, Qt::DescendingOrder);
    t.selectRuns({1, 2});
    QSignalSpy spy(&t, &RunsTable::selectionChanged);
    t.setRows(sampleRows());  // a refresh: same runs
    QCOMPARE(spy.count(), 0);
    QCOMPARE(t.selectedRuns().size(), 2);
    QCOMPARE(t.proxy()->sortColumn(), t.model()->configColumn(QStringLiteral("sft.epochs")));
    QCOMPARE(viewOrder(t), (QList<qint64>{2, 1, 3}));
    // Run 2 deleted: the selection shrinks and that is announced.
    auto rows = sampleRows();
    rows.erase(rows.begin() + 1);
    t.setRows(rows);
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.last().at(0).value<QList<qint64>>(), (QList<qint64>{1}));
}

// <build>/screenshots/runs-table.png, for a look at the layout.
void TstRunsTable::screenshot()
{
    RunsTable t;
    t.resize(900, 260);
    t.setChosenMetrics({QStringLiteral("full HR@10 (i0)"), QStringLiteral("full TCP (+C)"),
                        QStringLiteral("ppo_full list reward (val)")});
    t.setRows(sampleRows());
    t.selectRuns({2});
    t.show();
    QVERIFY(QTest::qWaitForWindowExposed(&t));
    const QString dir = QStringLiteral(RECALIGN_BINARY_DIR "/screenshots");
    QDir().mkpath(dir);
    QVERIFY(t.grab().save(dir + QStringLiteral("/runs-table.png")));
}

QTEST_MAIN(TstRunsTable)
#include "tst_runs_table.moc"

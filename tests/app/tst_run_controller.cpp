// RunController: jobs run on a worker thread, metrics arrive coalesced, cancel ends a job with
// Cancelled, a failing job reports its error and the controller goes on with the next one.
#include "app/studio/run_controller.h"

#include <QSignalSpy>
#include <QtTest>

#include <chrono>
#include <thread>

using namespace recalign;
using recalign::studio::MetricPoint;
using recalign::studio::RunController;

namespace {
// The outcome of run 7 (fields by name: RunOutcome grows).
core::RunOutcome outcome(const core::Error& error)
{
    core::RunOutcome o;
    o.error = error;
    o.run_id = 7;
    return o;
}

// A job that reports `steps` steps of a real computation (running mean of a sequence).
core::RunOutcome countingJob(core::Observer& o, int steps, int sleepUs)
{
    o.onStageBegin("count", steps);
    double mean = 0;
    for (int i = 1; i <= steps; ++i) {
        if (o.stopRequested())
            return outcome(core::Error{core::ErrorCode::Cancelled, "stopped at step " + std::to_string(i), {}});
        mean += (double(i) - mean) / double(i);
        core::StepRecord r;
        r.stage = "count";
        r.step = i;
        r.total_steps = steps;
        r.metrics = {{"mean", mean}, {"step_sq", double(i) * i}};
        o.onStep(r);
        if (sleepUs)
            std::this_thread::sleep_for(std::chrono::microseconds(sleepUs));
    }
    o.onStageEnd("count");
    return outcome(core::Error{});
}
}  // namespace

class TstRunController : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void metricsArriveCoalescedAndComplete();
    void cancelEndsTheJobWithCancelled();
    void aFailedJobReportsItsErrorAndTheQueueGoesOn();
};

void TstRunController::metricsArriveCoalescedAndComplete()
{
    RunController c;
    QSignalSpy drained(&c, &RunController::metricsDrained);
    QSignalSpy finished(&c, &RunController::jobFinished);
    c.enqueue(QStringLiteral("count"), [](core::Observer& o) { return countingJob(o, 2000, 50); });
    QVERIFY(finished.wait(20000));
    int points = 0;
    double lastMean = 0;
    for (const auto& args : drained) {
        const auto batch = args.at(0).value<QVector<MetricPoint>>();
        points += batch.size();
        for (const auto& p : batch)
            if (p.name == QLatin1String("mean"))
                lastMean = p.value;
    }
    QCOMPARE(points, 4000);                 // nothing lost
    QVERIFY(drained.size() < 2000 / 4);     // coalesced: far fewer batches than steps
    QCOMPARE(lastMean, 1000.5);             // mean of 1..2000
    QCOMPARE(finished.at(0).at(1).toInt(), int(core::ErrorCode::None));
    QCOMPARE(finished.at(0).at(3).toLongLong(), 7LL);
}

void TstRunController::cancelEndsTheJobWithCancelled()
{
    RunController c;
    QSignalSpy started(&c, &RunController::jobStarted);
    QSignalSpy finished(&c, &RunController::jobFinished);
    c.enqueue(QStringLiteral("long"), [](core::Observer& o) { return countingJob(o, 1000000, 100); });
    QVERIFY(started.wait(5000) || started.size() == 1);
    QTest::qWait(100);
    c.cancelCurrent();
    QVERIFY(finished.wait(10000));
    QCOMPARE(finished.at(0).at(1).toInt(), int(core::ErrorCode::Cancelled));
    QVERIFY(!c.isRunning());
}

void TstRunController::aFailedJobReportsItsErrorAndTheQueueGoesOn()
{
    RunController c;
    QSignalSpy finished(&c, &RunController::jobFinished);
    QSignalSpy idle(&c, &RunController::idle);
    c.enqueue(QStringLiteral("fails"), [](core::Observer&) -> core::RunOutcome {
        throw std::runtime_error("data file missing");
    });
    c.enqueue(QStringLiteral("ok"), [](core::Observer& o) { return countingJob(o, 10, 0); });
    QVERIFY(idle.wait(10000));
    QCOMPARE(finished.size(), 2);
    QCOMPARE(finished.at(0).at(1).toInt(), int(core::ErrorCode::Internal));
    QVERIFY(finished.at(0).at(2).toString().contains(QStringLiteral("data file missing")));
    QCOMPARE(finished.at(1).at(1).toInt(), int(core::ErrorCode::None));
}

QTEST_GUILESS_MAIN(TstRunController)
#include "tst_run_controller.moc"

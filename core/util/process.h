// This process's memory as the kernel counts it (/proc/self/status), for benchmarks.
#pragma once

namespace recalign::core {

double residentMiB();      // VmRSS; -1 when unknown
double peakResidentMiB();  // VmHWM, the peak RSS since start or the last reset; -1 when unknown
// Starts a new peak (writes 5 to /proc/self/clear_refs, Linux >= 4.0). False when refused.
bool resetPeakResident();

}  // namespace recalign::core

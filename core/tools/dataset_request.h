// The core's own dataset spec for a core/api DatasetRequest: shared by the tools in core/tools.
#pragma once

#include "core/api/data_tools.h"
#include "core/data/importers.h"

namespace recalign::core {

// Unset request fields keep DatasetSpec's (and SyntheticOptions') defaults.
DatasetSpec datasetSpec(const DatasetRequest& request);

}  // namespace recalign::core

#pragma once
// This process's own resource use, for metrics, the API and the heap trimmer.
#include <cstdint>

namespace sg {

// User + system CPU time used so far, in seconds (getrusage).
double process_cpu_seconds();
// Resident set size in bytes (/proc/self/statm: one small read, no lock shared with other threads); 0 if unknown.
uint64_t process_rss_bytes();

}  // namespace sg

// Interval records: the cumulative counter sampled at every interval boundary (multiples of
// INTERVAL seconds, UTC). The ESP8266 owns wall-clock time (NTP), so it runs this over the
// counter values the UNO reports.
#ifndef ZKM_INTERVAL_H
#define ZKM_INTERVAL_H
#include <stdint.h>
#include <string.h>

namespace zkm {

// The circuit's 15-bit range per reading (docs/protocol.md §1): 32767 Wh per interval.
static const uint32_t READING_MAX = 32767;

struct IntervalClose {
  uint64_t time;        // end boundary of the interval
  uint64_t energyWh;    // import counter attributed up to that boundary
  uint32_t intervalWh;
  uint64_t exportedWh;  // export counter attributed up to that boundary
  uint32_t intervalExportedWh;
};

class IntervalAccumulator {
 public:
  explicit IntervalAccumulator(uint32_t intervalS)
      : intervalS_(intervalS), endS_(0), startWh_(0), startExportWh_(0), started_(false) {}
  // Starts the interval containing nowS with the counters at energyWh (import) and exportedWh.
  void begin(uint64_t nowS, uint64_t energyWh, uint64_t exportedWh = 0);
  // Closes the oldest interval whose end boundary is <= nowS: returns true with its record; call
  // again until false (several boundaries pass after a time jump). The energy seen so far goes
  // to the first closed interval, import first, the two together capped at READING_MAX (a line
  // carries at most that much an interval in both directions, docs/protocol.md §6); any excess
  // carries into the next one, so the sum of each counter's interval Wh equals its difference.
  bool close(uint64_t nowS, uint64_t energyWh, uint64_t exportedWh, IntervalClose &out);
  uint32_t currentWh(uint64_t energyWh) const;
  uint32_t currentExportWh(uint64_t exportedWh) const;
  uint64_t intervalEnd() const { return endS_; }
  bool started() const { return started_; }

 private:
  uint32_t intervalS_;
  uint64_t endS_;
  uint64_t startWh_;
  uint64_t startExportWh_;
  bool started_;
};

// Sequence numbers: strictly increasing, persisted by reserving blocks in the checkpoint log.
class SeqAllocator {
 public:
  SeqAllocator() : next_(0) {}
  void restore(uint32_t seqLimit) { next_ = seqLimit; }
  uint32_t next() const { return next_; }
  uint32_t take() { return next_++; }

 private:
  uint32_t next_;
};

}  // namespace zkm
#endif

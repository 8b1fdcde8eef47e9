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
  uint64_t time;      // end boundary of the interval
  uint64_t energyWh;  // counter attributed up to that boundary
  uint32_t intervalWh;
};

class IntervalAccumulator {
 public:
  explicit IntervalAccumulator(uint32_t intervalS) : intervalS_(intervalS), endS_(0), startWh_(0), started_(false) {}
  // Starts the interval containing nowS with the counter at energyWh.
  void begin(uint64_t nowS, uint64_t energyWh);
  // Closes the oldest interval whose end boundary is <= nowS: returns true with its record; call
  // again until false (several boundaries pass after a time jump). The energy seen so far goes
  // to the first closed interval, capped at READING_MAX; any excess carries into the next one, so
  // the sum of intervalWh always equals the counter difference.
  bool close(uint64_t nowS, uint64_t energyWh, IntervalClose &out);
  uint32_t currentWh(uint64_t energyWh) const;
  uint64_t intervalEnd() const { return endS_; }
  bool started() const { return started_; }

 private:
  uint32_t intervalS_;
  uint64_t endS_;
  uint64_t startWh_;
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

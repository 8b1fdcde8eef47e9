// Billing periods (docs/protocol.md §2, §7) on the meter: when a period ends (every PeriodDays
// days at UTC midnight, or at the next calendar month's start when PeriodDays = 0, never past
// anchor + min(31, N·INTERVAL/86400) days) and its commitment, fed one interval at a time.
// Mirrors protocol/meter/period.ts (the virtual meter); protocol/vectors/period.json pins both.
#ifndef ZKM_PERIOD_H
#define ZKM_PERIOD_H
#include <stdint.h>
#include <string.h>

#include "zkm_commitment.h"
#include "zkm_eip712.h"

namespace zkm {

static const uint32_t SECONDS_PER_DAY = 86400;

struct PeriodGeometry {
  uint32_t intervalS;  // 86400 / SLOTS
  uint32_t n;          // readings per committed period
};

inline uint64_t anchorOf(uint64_t t) { return t - t % SECONDS_PER_DAY; }
uint8_t maxPeriodDays(const PeriodGeometry &g);
// The end of the period starting at `start`; 0 if days is out of range or start is not on an
// interval boundary.
uint64_t periodEndFor(uint64_t start, uint8_t days, const PeriodGeometry &g);
// Unix seconds of the first instant of the month after the one containing t (UTC).
uint64_t nextMonthStart(uint64_t t);

class PeriodTracker {
 public:
  explicit PeriodTracker(const PeriodGeometry &g)
      : g_(g), start_(0), end_(0), startCounter_(0), energy_(0), exportStartCounter_(0), exported_(0), open_(false) {}
  // Opens a period at `start` (an interval boundary) with the meter's counters at that instant.
  bool begin(uint64_t start, uint64_t startCounter, uint64_t exportStartCounter, const uint8_t salt[32], uint8_t days);
  // An interval [time - INTERVAL, time) closed with intervalWh imported and intervalExportedWh
  // exported. Intervals the meter missed read 0. Returns false for an interval outside the period,
  // out of order, or with more than READING_MAX Wh in both directions together.
  bool onInterval(uint64_t time, uint32_t intervalWh, uint32_t intervalExportedWh);
  // True once the interval ending at periodEnd has been fed.
  bool complete() const { return open_ && next_ > end_; }
  // Writes the signed messages (import and export halves, commitments included) and closes the period.
  bool close(const uint8_t meter[20], BillingPeriod &out);
  // The counter at the end of the last interval fed: where the next interval starts counting.
  uint64_t counter() const { return startCounter_ + energy_; }
  uint64_t exportCounter() const { return exportStartCounter_ + exported_; }
  uint64_t periodStart() const { return start_; }
  uint64_t periodEnd() const { return end_; }
  bool open() const { return open_; }
  // PeriodDays changed at `now`: applies to the running period, never closing it in the past.
  bool reschedule(uint8_t days, uint64_t now);

 private:
  PeriodGeometry g_;
  uint64_t start_, end_, next_;  // next_: end boundary of the next interval expected
  uint64_t startCounter_, energy_;
  uint64_t exportStartCounter_, exported_;
  bool open_;
  CommitmentChain chain_;
  CommitmentChain exportChain_;  // same salt, DIRECTION_EXPORT in its layout word
};

}  // namespace zkm
#endif

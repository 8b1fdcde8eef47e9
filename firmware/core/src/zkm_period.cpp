#include "zkm_period.h"

#include "zkm_config.h"
#include "zkm_interval.h"
#if ZKM_WITH_CRYPTO

namespace zkm {

uint8_t maxPeriodDays(const PeriodGeometry &g) {
  uint64_t days = ((uint64_t)g.n * g.intervalS) / SECONDS_PER_DAY;
  return (uint8_t)(days < 31 ? days : 31);
}

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian, t >= 0).
static uint32_t daysFromCivil(uint32_t y, uint32_t m, uint32_t d) {
  y -= m <= 2;
  uint32_t era = y / 400;
  uint32_t yoe = y - era * 400;
  uint32_t doy = (153 * (m + (m > 2 ? (uint32_t)-3 : 9)) + 2) / 5 + d - 1;
  uint32_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

uint64_t nextMonthStart(uint64_t t) {
  uint32_t z = (uint32_t)(t / SECONDS_PER_DAY) + 719468;
  uint32_t era = z / 146097;
  uint32_t doe = z - era * 146097;
  uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  uint32_t y = yoe + era * 400;
  uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  uint32_t mp = (5 * doy + 2) / 153;
  uint32_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) y++;
  if (m == 12) {
    y++;
    m = 1;
  } else {
    m++;
  }
  return (uint64_t)daysFromCivil(y, m, 1) * SECONDS_PER_DAY;
}

uint64_t periodEndFor(uint64_t start, uint8_t days, const PeriodGeometry &g) {
  uint8_t maxDays = maxPeriodDays(g);
  if (days > maxDays || start % g.intervalS != 0) return 0;
  uint64_t anchor = anchorOf(start);
  uint64_t cap = anchor + (uint64_t)maxDays * SECONDS_PER_DAY;
  uint64_t end = days ? anchor + (uint64_t)days * SECONDS_PER_DAY : nextMonthStart(anchor);
  return end < cap ? end : cap;
}

bool PeriodTracker::begin(uint64_t start, uint64_t startCounter, uint64_t exportStartCounter, const uint8_t salt[32],
                          uint8_t days) {
  uint64_t end = periodEndFor(start, days, g_);
  if (!end || end <= start) return false;
  start_ = start;
  end_ = end;
  next_ = start + g_.intervalS;
  startCounter_ = startCounter;
  energy_ = 0;
  exportStartCounter_ = exportStartCounter;
  exported_ = 0;
  // Slots per day for the per-slot sums of the commitment (version 2 on): the interval must divide
  // the day into at most MAX_SLOTS slots.
  if (SECONDS_PER_DAY % g_.intervalS != 0 || SECONDS_PER_DAY / g_.intervalS > MAX_SLOTS) return false;
  if (!chain_.begin(salt, (uint8_t)(SECONDS_PER_DAY / g_.intervalS))) return false;
  if (!exportChain_.begin(salt, (uint8_t)(SECONDS_PER_DAY / g_.intervalS), DIRECTION_EXPORT)) return false;
  // Readings are indexed from the UTC midnight anchor: the intervals before the start read 0.
  for (uint64_t t = anchorOf(start); t < start; t += g_.intervalS) {
    chain_.push(0);
    exportChain_.push(0);
  }
  open_ = true;
  return true;
}

bool PeriodTracker::onInterval(uint64_t time, uint32_t intervalWh, uint32_t intervalExportedWh) {
  if (!open_ || time < next_ || time > end_ || time % g_.intervalS != 0 || intervalWh > READING_MAX ||
      intervalExportedWh > READING_MAX - intervalWh)
    return false;
  while (next_ < time) {  // intervals without a record (meter off): nothing was metered in them
    chain_.push(0);
    exportChain_.push(0);
    next_ += g_.intervalS;
  }
  chain_.push((uint16_t)intervalWh);
  exportChain_.push((uint16_t)intervalExportedWh);
  energy_ += intervalWh;
  exported_ += intervalExportedWh;
  next_ += g_.intervalS;
  return true;
}

bool PeriodTracker::close(const uint8_t meter[20], BillingPeriod &out) {
  if (!open_) return false;
  uint8_t commitment[32], exportCommitment[32];
  if (!chain_.finish(g_.n, commitment) || !exportChain_.finish(g_.n, exportCommitment)) return false;
  memcpy(out.meter, meter, 20);
  out.periodStart = start_;
  out.periodEnd = end_;
  out.startCounter = startCounter_;
  out.endCounter = startCounter_ + energy_;
  memcpy(out.commitment, commitment, 32);
  out.exportStartCounter = exportStartCounter_;
  out.exportEndCounter = exportStartCounter_ + exported_;
  memcpy(out.exportCommitment, exportCommitment, 32);
  open_ = false;
  return true;
}

bool PeriodTracker::reschedule(uint8_t days, uint64_t now) {
  uint64_t end = periodEndFor(start_, days, g_);
  if (!open_ || !end) return false;
  if (end <= now) {
    uint64_t cap = anchorOf(start_) + (uint64_t)maxPeriodDays(g_) * SECONDS_PER_DAY;
    end = anchorOf(now) + SECONDS_PER_DAY;
    if (end > cap) end = cap;
  }
  if (end < next_ - g_.intervalS) return false;  // intervals already committed lie beyond it
  end_ = end;
  return true;
}

}  // namespace zkm
#endif

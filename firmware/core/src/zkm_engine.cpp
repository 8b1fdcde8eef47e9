#include "zkm_engine.h"

#include "zkm_config.h"
#include "zkm_relays.h"
#if ZKM_WITH_CRYPTO

namespace zkm {

void MeterEngine::openPeriod(uint64_t start, uint64_t counter, uint64_t exportCounter) {
  uint8_t salt[32];
  deriveSalt(id_.pairingKey, id_.address, start, salt);
  period_.begin(start, counter, exportCounter, salt, days_);
  journal_.begin(start, counter, exportCounter);
}

void MeterEngine::start(uint64_t firstPeriodStart, uint64_t firstCounter, uint8_t periodDays,
                        uint64_t firstExportCounter) {
  days_ = periodDays;
  log_.restore();
  uint64_t start, counter, exportCounter;
  if (!journal_.readHeader(start, counter, exportCounter)) {
    openPeriod(firstPeriodStart, firstCounter, firstExportCounter);
    return;
  }
  uint8_t salt[32];
  deriveSalt(id_.pairingKey, id_.address, start, salt);
  period_.begin(start, counter, exportCounter, salt, days_);
  uint64_t t;
  uint32_t wh, xwh;
  while (journal_.readInterval(t, wh, xwh)) period_.onInterval(t, wh, xwh);
}

// Sign, log, then hand out: whatever the sink sees is in the log (Resend can serve it after a
// reboot) and seq continues from the log, contiguous and never reused.
bool MeterEngine::emit(uint8_t kind, uint64_t time, uint64_t energyWh, uint32_t intervalWh, uint64_t exportedWh,
                       uint32_t intervalExportedWh) {
  MeterRecord r;
  r.seq = log_.nextSeq();
  r.kind = kind;
  r.time = time;
  r.energyWh = energyWh;
  r.intervalWh = intervalWh;
  r.exportedWh = exportedWh;
  r.intervalExportedWh = intervalExportedWh;
  r.powerW = latest_.powerW;
  r.voltageMv = latest_.voltageMv;
  r.currentMa = latest_.currentMa;
  r.powerFactor = latest_.powerFactor;
  r.temperatureCenti = latest_.temperatureCenti;
  r.light = latest_.light;
  r.gas = latest_.gas;
  r.water = latest_.water;
  r.hazards = latest_.hazards;
  r.relays = latest_.relays;
  r.fanSpeed = latest_.fanSpeed;
  uint8_t digest[32], sig[65];
  meterRecordDigest(id_.domainSeparator, r, digest);
  if (!signer_.sign(digest, sig) || !log_.append(r, sig)) return false;
  sink_.record(r, sig);
  return true;
}

void MeterEngine::closeIntervals(uint64_t nowS) {
  IntervalClose c;
  while (intervals_.close(nowS, latest_.energyWh, latest_.exportedWh, c)) {
    emit(1, c.time, c.energyWh, c.intervalWh, c.exportedWh, c.intervalExportedWh);
    if (period_.onInterval(c.time, c.intervalWh, c.intervalExportedWh))
      journal_.interval(c.time, c.intervalWh, c.intervalExportedWh);
    if (!period_.complete()) continue;
    BillingPeriod p;
    uint8_t digest[32], sig[65], exportSig[65];
    period_.close(id_.address, p);
    billingPeriodDigest(id_.domainSeparator, p, digest);
    bool signedImport = signer_.sign(digest, sig);
    exportPeriodDigest(id_.domainSeparator, p, digest);
    if (signedImport && signer_.sign(digest, exportSig)) {
      closes_.put(p, sig, exportSig);  // kept before it leaves, like a record: ResendPeriod serves it later
      sink_.period(p, sig, exportSig, true);
    }
    // The next period starts exactly where this one ended, on both counters.
    openPeriod(p.periodEnd, p.endCounter, p.exportEndCounter);
  }
}

void MeterEngine::reportChanges(bool first) {
  for (uint8_t n = 1; n <= 8; n++) {
    uint8_t bit = relayBit(n);
    if (first || ((reportedRelays_ ^ latest_.relays) & bit)) sink_.relayChanged(n, latest_.relays & bit);
  }
  if (first || latest_.fanSpeed != reportedFan_) sink_.fanChanged(latest_.fanSpeed);
  reportedRelays_ = latest_.relays;
  reportedFan_ = latest_.fanSpeed;
}

void MeterEngine::onMeasurement(const Measurement &m, uint64_t nowS) {
  bool first = !have_;
  bool hazardChange = have_ && m.hazards != latest_.hazards;
  latest_ = m;
  have_ = true;
  reportChanges(first);
  if (!nowS) return;
  // After a reboot the first interval counts from the last committed counter, so the energy used
  // while the ESP8266 was down lands in an interval and the readings still sum to the counter.
  if (!intervals_.started()) {
    intervals_.begin(nowS, period_.open() ? period_.counter() : m.energyWh,
                     period_.open() ? period_.exportCounter() : m.exportedWh);
  }
  closeIntervals(nowS);
  if (hazardChange) liveSample(nowS);
}

bool MeterEngine::liveSample(uint64_t nowS) {
  if (!have_ || !nowS || !intervals_.started()) return false;
  return emit(0, nowS, latest_.energyWh, intervals_.currentWh(latest_.energyWh), latest_.exportedWh,
              intervals_.currentExportWh(latest_.exportedWh));
}

void MeterEngine::signGone(uint64_t from, uint64_t to) {
  RecordsGone g;
  memcpy(g.meter, id_.address, 20);
  g.fromSeq = from;
  g.toSeq = to;
  uint8_t digest[32], sig[65];
  recordsGoneDigest(id_.domainSeparator, g, digest);
  if (signer_.sign(digest, sig)) sink_.gone(g, sig);
}

uint32_t MeterEngine::resend(uint64_t from, uint64_t to) {
  uint32_t count = 0;
  bool inGone = false;
  uint64_t goneFrom = 0, s = from;
  // The ring holds at most its slot count: seqs further back are gone without reading them, so a
  // request for a huge range costs one GONE, not one flash read per seq.
  for (; s <= to && s < log_.nextSeq(); s++) {
    MeterRecord r;
    uint8_t sig[65];
    bool overwritten = s + log_.slots() < log_.nextSeq();
    if (overwritten || !log_.find(s, r, sig)) {  // overwritten, or its write was torn
      if (!inGone) goneFrom = s;
      inGone = true;
      if (overwritten) {
        uint64_t lastOverwritten = log_.nextSeq() - log_.slots() - 1;
        s = lastOverwritten < to ? lastOverwritten : to;
      }
      continue;
    }
    if (inGone) signGone(goneFrom, s - 1);
    inGone = false;
    sink_.record(r, sig);
    count++;
  }
  if (inGone) signGone(goneFrom, s - 1);
  return count;
}

bool MeterEngine::resendPeriod(uint64_t periodStart) {
  BillingPeriod p;
  uint8_t sig[65], exportSig[65];
  if (!closes_.find(periodStart, p, sig, exportSig)) return false;
  sink_.period(p, sig, exportSig, false);
  return true;
}

bool MeterEngine::setPeriodDays(uint8_t days, uint64_t nowS) {
  if (!period_.reschedule(days, nowS)) return false;
  days_ = days;
  return true;
}

}  // namespace zkm
#endif

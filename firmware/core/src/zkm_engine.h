// The ESP8266's meter logic, independent of WiFi, MQTT and flash APIs so it runs in host tests:
// from the UNO's measurements and the wall clock it makes signed interval and live records
// (logged before they are handed out), closes and signs billing periods with their incremental
// commitment, survives reboots (record log + period journal), answers Resend (with a signed GONE
// for what the log no longer holds) and ResendPeriod (from the kept closes), and reports relay
// changes. The sketch implements MeterSink (MQTT) and PeriodJournal (LittleFS).
#ifndef ZKM_ENGINE_H
#define ZKM_ENGINE_H
#include <stdint.h>
#include <string.h>

#include "zkm_eip712.h"
#include "zkm_interval.h"
#include "zkm_link.h"
#include "zkm_period.h"
#include "zkm_periodstore.h"
#include "zkm_recordlog.h"
#include "zkm_signer.h"

namespace zkm {

class MeterSink {
 public:
  virtual void record(const MeterRecord &r, const uint8_t signature[65]) = 0;
  // latest: a fresh close (publish retained); false: a kept close resent on ResendPeriod (not
  // retained, so the retained PERIOD stays the latest close).
  // signature: BillingPeriod (import); exportSignature: ExportPeriod (the export half).
  virtual void period(const BillingPeriod &p, const uint8_t signature[65], const uint8_t exportSignature[65],
                      bool latest) = 0;
  // Records g.fromSeq..g.toSeq were asked for but are no longer held (tele/<meter>/GONE).
  virtual void gone(const RecordsGone &g, const uint8_t signature[65]) = 0;
  // A relay or the fan really changed (the UNO reported it): RESULT / stat messages.
  virtual void relayChanged(uint8_t n, bool on) = 0;
  virtual void fanChanged(uint8_t speed) = 0;

 protected:
  ~MeterSink() {}
};

// Append-only journal of the running period: its start with both counters, then one entry per
// closed interval with its imported and exported Wh.
class PeriodJournal {
 public:
  virtual void begin(uint64_t start, uint64_t startCounter, uint64_t exportStartCounter) = 0;
  virtual void interval(uint64_t time, uint32_t intervalWh, uint32_t intervalExportedWh) = 0;
  // Replay: header first (false if there is no journal), then entries until false.
  virtual bool readHeader(uint64_t &start, uint64_t &startCounter, uint64_t &exportStartCounter) = 0;
  virtual bool readInterval(uint64_t &time, uint32_t &intervalWh, uint32_t &intervalExportedWh) = 0;

 protected:
  ~PeriodJournal() {}
};

struct MeterIdentity {
  uint8_t address[20];
  uint8_t domainSeparator[32];
  uint8_t pairingKey[32];
};

class MeterEngine {
 public:
  MeterEngine(const MeterIdentity &id, Signer &signer, RecordLog &log, PeriodJournal &journal,
              PeriodCloseStore &closes, MeterSink &sink, const PeriodGeometry &g)
      : id_(id), signer_(signer), log_(log), journal_(journal), closes_(closes), sink_(sink),
        intervals_(g.intervalS), period_(g), days_(0), have_(false), reportedRelays_(0), reportedFan_(0) {}

  // After power-up: restores the sequence from the record log and the running period from the
  // journal (or opens the first period at the provisioning point).
  void start(uint64_t firstPeriodStart, uint64_t firstCounter, uint8_t periodDays, uint64_t firstExportCounter = 0);
  // A measurement from the UNO; nowS = 0 while the clock is not set (nothing is timestamped then).
  void onMeasurement(const Measurement &m, uint64_t nowS);
  // A kind-0 record of the latest measurement (periodic live sample).
  bool liveSample(uint64_t nowS);
  // Hands the logged records from..to to the sink again, and a signed RecordsGone for each run of
  // them (below nextSeq) the log no longer holds; returns how many records were still logged.
  uint32_t resend(uint64_t from, uint64_t to);
  // Hands the kept close of the period starting at periodStart to the sink again (not latest).
  bool resendPeriod(uint64_t periodStart);
  uint8_t periodDays() const { return days_; }
  // PeriodDays changed: applies to the running period (never closing it in the past).
  bool setPeriodDays(uint8_t days, uint64_t nowS);
  uint64_t nextSeq() const { return log_.nextSeq(); }
  const PeriodTracker &period() const { return period_; }

 private:
  bool emit(uint8_t kind, uint64_t time, uint64_t energyWh, uint32_t intervalWh, uint64_t exportedWh,
            uint32_t intervalExportedWh);
  void openPeriod(uint64_t start, uint64_t counter, uint64_t exportCounter);
  void closeIntervals(uint64_t nowS);
  void reportChanges(bool first);
  void signGone(uint64_t from, uint64_t to);

  MeterIdentity id_;
  Signer &signer_;
  RecordLog &log_;
  PeriodJournal &journal_;
  PeriodCloseStore &closes_;
  MeterSink &sink_;
  IntervalAccumulator intervals_;
  PeriodTracker period_;
  uint8_t days_;
  Measurement latest_;
  bool have_;
  uint8_t reportedRelays_, reportedFan_;
};

}  // namespace zkm
#endif

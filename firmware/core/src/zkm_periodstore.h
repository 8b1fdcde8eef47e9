// The ESP8266's store of its last signed period closes, for `ResendPeriod` (docs/protocol.md §7):
// the retained PERIOD message carries only the latest close, so a node that was away across two
// closes asks for the earlier one by its periodStart. Each close is kept with its signature in a
// slot with a CRC-16 (a write torn by a power cut is simply absent) over the same byte storage as
// the record log (a LittleFS file on the ESP8266, RAM in host tests). A new close replaces the
// slot holding the same periodStart (a close re-signed after a reboot is byte-identical: RFC 6979),
// else an empty slot, else the oldest close.
#ifndef ZKM_PERIODSTORE_H
#define ZKM_PERIODSTORE_H
#include <stdint.h>
#include <string.h>

#include "zkm_eip712.h"
#include "zkm_recordlog.h"

namespace zkm {

// meter, 4 × u64 little-endian, commitment (big-endian), then the export half: 2 × u64, commitment.
static const uint8_t PERIOD_BYTES = 132;
// magic, period, signature (65), export signature (65), CRC-16
static const uint16_t PERIOD_ENTRY_BYTES = 265;
// Closes kept. The record log's 4096 slots hold ~42 days of interval records once live samples
// pause (the node far behind with its acks), so a node away that long can still fetch every record
// it lacks; 48 closes cover those 42 days even at PeriodDays = 1 (4 years of monthly closes), for
// 12.7 KB of flash written once per period.
static const uint8_t PERIOD_CLOSES_KEPT = 48;

void periodEncode(const BillingPeriod &p, uint8_t out[PERIOD_BYTES]);
void periodDecode(const uint8_t in[PERIOD_BYTES], BillingPeriod &p);

class PeriodCloseStore {
 public:
  PeriodCloseStore(RecordStore &store, uint8_t slots) : store_(store), slots_(slots) {}
  // Keeps a signed close; false if the store failed (the caller still publishes: the retained
  // PERIOD carries it, only a later ResendPeriod could not be served).
  bool put(const BillingPeriod &p, const uint8_t signature[65], const uint8_t exportSignature[65]);
  // The kept close starting at periodStart, if any.
  bool find(uint64_t periodStart, BillingPeriod &p, uint8_t signature[65], uint8_t exportSignature[65]);

 private:
  bool readEntry(uint8_t slot, BillingPeriod &p, uint8_t signature[65], uint8_t exportSignature[65]);
  RecordStore &store_;
  uint8_t slots_;
};

}  // namespace zkm
#endif

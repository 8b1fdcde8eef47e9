// The ESP8266's log of every record it signs, kept in flash before the record is published. It is
// both the sequence-number memory (after a reboot the next seq is the newest logged + 1, so seq
// stays contiguous: the node acknowledges a contiguous high-water mark) and the store `Resend`
// answers from, across reboots. A ring of fixed-size slots (slot = seq mod slots), each entry with
// a CRC-16, so a write torn by a power cut is simply absent.
#ifndef ZKM_RECORDLOG_H
#define ZKM_RECORDLOG_H
#include <stdint.h>
#include <string.h>

#include "zkm_eip712.h"

namespace zkm {

// MeterRecord, little-endian: the fields of record format 1 in EIP-712 order, then the export
// counter and the interval's export (record format 2, docs/protocol.md §6).
static const uint8_t RECORD_BYTES = 68;
static const uint8_t RECORD_ENTRY_BYTES = 136;  // magic, record, signature (65), CRC-16

void recordEncode(const MeterRecord &r, uint8_t out[RECORD_BYTES]);
void recordDecode(const uint8_t in[RECORD_BYTES], MeterRecord &r);

// Byte storage with 32-bit offsets (a LittleFS file on the ESP8266, RAM in host tests).
class RecordStore {
 public:
  virtual bool read(uint32_t offset, uint8_t *out, uint16_t len) = 0;
  virtual bool write(uint32_t offset, const uint8_t *data, uint16_t len) = 0;

 protected:
  ~RecordStore() {}
};

class RecordLog {
 public:
  RecordLog(RecordStore &store, uint32_t slots) : store_(store), slots_(slots), next_(0), any_(false) {}
  // Scans the ring; returns the sequence number to use next (0 for an empty log).
  uint64_t restore();
  // Logs a signed record; its seq must be nextSeq(). Returns false if the store failed (the caller
  // must then not publish the record, and retries with the same seq).
  bool append(const MeterRecord &r, const uint8_t signature[65]);
  // A logged record, if it is still in the ring (not yet overwritten by seq + slots).
  bool find(uint64_t seq, MeterRecord &r, uint8_t signature[65]);
  uint64_t nextSeq() const { return next_; }
  uint32_t slots() const { return slots_; }

 private:
  bool readEntry(uint32_t slot, MeterRecord &r, uint8_t signature[65]);
  RecordStore &store_;
  uint32_t slots_;
  uint64_t next_;
  bool any_;
};

}  // namespace zkm
#endif

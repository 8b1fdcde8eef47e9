// The metering source behind the UNO's energy counters, whichever chip it is: the PZEM-004T
// (import only) or a bidirectional meter that reports the direction of the power (zkm_sdm.h). Both
// speak Modbus-RTU on the same serial line; the loop asks request() for the next frame to send and
// hands answer() what came back, and gets one SourceReading per complete poll. BidirectionalEnergy
// turns the source's own registers into the meter's two 64-bit counters (OBIS 1.8.0 and 2.8.0)
// with the EnergyCounter's rule: an implausible step re-baselines, never inflates.
#ifndef ZKM_SOURCE_H
#define ZKM_SOURCE_H
#include <stdint.h>
#include <string.h>

#include "zkm_energy.h"
#include "zkm_pzem.h"
#include "zkm_sdm.h"

namespace zkm {

struct SourceReading {
  uint32_t voltageMv;
  uint32_t currentMa;
  uint32_t powerW;   // magnitude
  bool exporting;    // the power flows to the grid (never true for an import-only source)
  uint16_t powerFactor;  // × 1000
  uint32_t importRegisterWh;  // the source's own registers, as it counts them
  uint32_t exportRegisterWh;  // 0 for an import-only source
  uint32_t registerModulus;   // where the registers wrap; 0: they never do
  uint8_t measureSource;      // MEASURE_* of zkm_link.h
};

enum SourceStatus : uint8_t {
  SOURCE_READY = 0,    // `out` holds a complete reading
  SOURCE_PENDING = 1,  // that answer was good; send the next request for the rest of the reading
  SOURCE_ERROR = 2,    // a short, corrupt or refused answer (counts as a miss)
};

class MeteringSource {
 public:
  // Writes the next request into out (at most 8 bytes); returns its length.
  virtual uint8_t request(uint8_t *out) = 0;
  virtual SourceStatus answer(const uint8_t *frame, uint8_t len, SourceReading &out) = 0;
  // Length of the longest answer (the receive buffer's size).
  virtual uint8_t maxAnswer() const = 0;

 protected:
  ~MeteringSource() {}
};

class PzemSource : public MeteringSource {
 public:
  explicit PzemSource(uint8_t address = PZEM_DEFAULT_ADDRESS) : address_(address) {}
  uint8_t request(uint8_t *out) override;
  SourceStatus answer(const uint8_t *frame, uint8_t len, SourceReading &out) override;
  uint8_t maxAnswer() const override { return PZEM_RESPONSE_LEN; }

 private:
  uint8_t address_;
};

// Two requests a reading: the instantaneous block, then the energy registers.
class SdmSource : public MeteringSource {
 public:
  explicit SdmSource(uint8_t address = SDM_DEFAULT_ADDRESS) : address_(address), step_(0) {}
  uint8_t request(uint8_t *out) override;
  SourceStatus answer(const uint8_t *frame, uint8_t len, SourceReading &out) override;
  uint8_t maxAnswer() const override { return SDM_INSTANT_RESPONSE_LEN; }

 private:
  uint8_t address_;
  uint8_t step_;
  SdmInstant instant_;
};

class BidirectionalEnergy {
 public:
  // Feeds one reading's registers observed elapsedMs after the previous one; returns the Wh added
  // to the import and export counters.
  void feed(const SourceReading &r, uint32_t elapsedMs, uint32_t &importedWh, uint32_t &exportedWh);
  EnergyCounter imported;
  EnergyCounter exported;
};

}  // namespace zkm
#endif

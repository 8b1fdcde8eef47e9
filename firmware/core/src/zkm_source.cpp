#include "zkm_source.h"

#include "zkm_link.h"

namespace zkm {

uint8_t PzemSource::request(uint8_t *out) {
  pzemReadRequest(address_, out);
  return PZEM_REQUEST_LEN;
}

SourceStatus PzemSource::answer(const uint8_t *frame, uint8_t len, SourceReading &out) {
  PzemReading r;
  if (pzemParseResponse(address_, frame, len, r) != PZEM_OK) return SOURCE_ERROR;
  out.voltageMv = r.voltageMv;
  out.currentMa = r.currentMa;
  out.powerW = (r.powerDeciW + 5) / 10;
  out.exporting = false;  // the PZEM cannot tell: it counts every Wh as imported
  out.powerFactor = r.powerFactorPermille;
  out.importRegisterWh = r.energyWh;
  out.exportRegisterWh = 0;
  out.registerModulus = PZEM_ENERGY_MODULUS;
  out.measureSource = MEASURE_PZEM;
  return SOURCE_READY;
}

uint8_t SdmSource::request(uint8_t *out) {
  if (step_ == 0) {
    sdmReadRequest(address_, SDM_INSTANT_FIRST, SDM_INSTANT_COUNT, out);
  } else {
    sdmReadRequest(address_, SDM_ENERGY_FIRST, SDM_ENERGY_COUNT, out);
  }
  return SDM_REQUEST_LEN;
}

SourceStatus SdmSource::answer(const uint8_t *frame, uint8_t len, SourceReading &out) {
  if (step_ == 0) {
    if (sdmParseInstant(address_, frame, len, instant_) != SDM_OK) return SOURCE_ERROR;
    step_ = 1;
    return SOURCE_PENDING;
  }
  step_ = 0;  // whatever the energy answer is, the next poll starts over
  SdmEnergy e;
  if (sdmParseEnergy(address_, frame, len, e) != SDM_OK) return SOURCE_ERROR;
  out.voltageMv = instant_.voltageMv;
  out.currentMa = instant_.currentMa;
  out.exporting = instant_.powerW < 0;
  out.powerW = (uint32_t)(instant_.powerW < 0 ? -(int64_t)instant_.powerW : instant_.powerW);
  out.powerFactor = instant_.powerFactorPermille;
  out.importRegisterWh = e.importWh;
  out.exportRegisterWh = e.exportWh;
  out.registerModulus = 0;
  out.measureSource = MEASURE_BIDIRECTIONAL;
  return SOURCE_READY;
}

void BidirectionalEnergy::feed(const SourceReading &r, uint32_t elapsedMs, uint32_t &importedWh,
                               uint32_t &exportedWh) {
  importedWh = imported.feedRegister(r.importRegisterWh, elapsedMs, r.registerModulus);
  // An import-only source has no export register: its export counter stays where it is.
  exportedWh = r.measureSource == MEASURE_BIDIRECTIONAL
                   ? exported.feedRegister(r.exportRegisterWh, elapsedMs, r.registerModulus)
                   : 0;
}

}  // namespace zkm

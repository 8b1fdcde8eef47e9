// zkmeter UNO: sensors, energy metering, alarms and safety relays; reports to the ESP8266 over the
// CRC-16 framed serial link (docs/firmware.md). All logic lives in the zkmeter core library; this
// file only binds it to pins, the ADC, the EEPROM and the serial ports.
//
// Pins: D0/D1 ESP8266 link (9600 8N1) · D2 flame sensor (LOW = flame) · D3 HLW8012 CF pulses ·
// D4..D11 relays 1..8 (active LOW boards) · D12/D13 PZEM-004T RX/TX (SoftwareSerial 9600) ·
// A0 LM35 · A1 LDR · A2 MQ-6 · A3 water level · A4 power-fail sense (LOW = supply collapsing).
#include <EEPROM.h>
#include <SoftwareSerial.h>
#include <avr/eeprom.h>
#include <zkmeter.h>

static const uint8_t PIN_FLAME = 2;
static const uint8_t PIN_CF = 3;
static const uint8_t PIN_RELAY_FIRST = 4;
static const uint8_t PIN_PZEM_RX = 12;
static const uint8_t PIN_PZEM_TX = 13;
static const uint8_t PIN_POWER_FAIL = A4;
static const bool RELAY_ACTIVE_LOW = true;

static const uint32_t REPORT_MS = 1000;
static const uint32_t PZEM_POLL_MS = 1000;
static const uint32_t PZEM_ANSWER_MS = 200;
static const uint8_t PZEM_MISSES_BEFORE_PULSES = 3;
static const uint32_t HEARTBEAT_TIMEOUT_MS = 10000;
static const uint32_t CHECKPOINT_STEP_WH = 100;  // docs/firmware.md: the loss bound
static const uint8_t CHECKPOINT_SLOTS = 32;
static const uint32_t PULSES_PER_KWH = 3200;

// An EEPROM byte takes ~3.4 ms to program: writing a 24-byte checkpoint in one go would stall the
// loop for ~85 ms, too long next to a 100 ms flame budget. So a write is queued and programmed one
// byte per loop iteration while the EEPROM is idle; the safety logic keeps running meanwhile.
class EepromStore : public zkm::NvStore {
 public:
  EepromStore() : addr_(0), len_(0), done_(0) {}
  uint16_t size() const override { return E2END + 1; }
  void read(uint16_t addr, uint8_t *out, uint16_t len) override {
    flush();
    eeprom_read_block(out, (const void *)addr, len);
  }
  void write(uint16_t addr, const uint8_t *data, uint16_t len) override {
    flush();  // never more than one pending write (checkpoints are >= 14 s apart at 26 kW)
    if (len > sizeof(pending_)) len = sizeof(pending_);
    memcpy(pending_, data, len);
    addr_ = addr;
    len_ = (uint8_t)len;
    done_ = 0;
  }
  // Programs the next byte if the EEPROM is idle; call every loop iteration.
  void service() {
    if (done_ < len_ && eeprom_is_ready()) {
      eeprom_update_byte((uint8_t *)(addr_ + done_), pending_[done_]);  // skips unchanged bytes
      done_++;
    }
  }
  bool busy() const { return done_ < len_; }

 private:
  void flush() {
    while (busy()) service();
  }
  uint8_t pending_[zkm::CHECKPOINT_ENTRY_SIZE];
  uint16_t addr_;
  uint8_t len_, done_;
};

static SoftwareSerial pzemSerial(PIN_PZEM_RX, PIN_PZEM_TX);
static EepromStore store;
static zkm::CheckpointLog checkpoints(store, 0, CHECKPOINT_SLOTS);
static zkm::CheckpointPolicy policy(CHECKPOINT_STEP_WH, 0);
static zkm::EnergyCounter energy;
static zkm::PulseMeter pulses(PULSES_PER_KWH);
static zkm::Alarms alarms(zkm::defaultAlarmConfig());
static zkm::RelayController relays;
static zkm::FanFallback fanFallback;
static zkm::NightLightFallback nightFallback;
static zkm::LinkWatchdog watchdog(HEARTBEAT_TIMEOUT_MS);
static zkm::LinkDecoder fromEsp;
static zkm::Measurement m;

static volatile uint16_t cfPulses;
static uint8_t pzemBuf[zkm::PZEM_RESPONSE_LEN];
static uint8_t pzemFill;
static uint32_t pzemAskedMs, lastPzemOkMs, lastReportMs;
static bool pzemWaiting;
static uint8_t pzemMisses;
static uint8_t outputs = 0xFF;  // forces the first write
static bool powerFailHandled;
static bool pulsesSeen;  // CF pulses arrived since the PZEM last answered
static uint32_t lastRxMs;
static bool rxPending;  // bytes arrived since the line was last seen quiet

static void onCfPulse() { cfPulses++; }

static void writeRelays(uint8_t bits) {
  for (uint8_t i = 0; i < 8; i++) {
    bool on = bits & (1 << i);
    digitalWrite(PIN_RELAY_FIRST + i, (on != RELAY_ACTIVE_LOW) ? HIGH : LOW);
  }
}

static void sendMeasurement() {
  uint8_t payload[zkm::MEASUREMENT_SIZE];
  uint8_t frame[zkm::LINK_MAX_FRAME];
  m.energyWh = energy.totalWh();
  m.relays = outputs;
  m.fanSpeed = relays.fanSpeed();
  zkm::measurementEncode(m, payload);
  uint8_t n = zkm::linkEncode(zkm::LINK_MEASUREMENT, payload, sizeof(payload), frame);
  Serial.write(frame, n);
}

static void saveCheckpoint() {
  zkm::Checkpoint cp;
  policy.prepare(energy.totalWh(), energy.lastRaw(), energy.hasBaseline(), 0, cp);
  checkpoints.append(cp);
}

static void handleFrame() {
  const uint8_t *p = fromEsp.payload();
  uint8_t len = fromEsp.length();
  uint32_t now = millis();
  switch (fromEsp.type()) {
    case zkm::LINK_SET_RELAY:
      if (len == 2 && p[1] <= zkm::RELAY_FORCE_OFF) relays.command(p[0], (zkm::RelayAction)p[1]);
      break;
    case zkm::LINK_SET_FAN:
      if (len == 1) relays.setFanSpeed(p[0]);
      break;
    case zkm::LINK_HEARTBEAT:
      if (len == 1) watchdog.heartbeat(p[0] != 0, now);
      break;
  }
}

static void pollPzem(uint32_t now) {
  while (pzemSerial.available()) {
    uint8_t b = (uint8_t)pzemSerial.read();
    if (pzemFill < sizeof(pzemBuf)) pzemBuf[pzemFill++] = b;
  }
  if (pzemWaiting && (pzemFill == sizeof(pzemBuf) || now - pzemAskedMs >= PZEM_ANSWER_MS)) {
    pzemWaiting = false;
    zkm::PzemReading r;
    if (zkm::pzemParseResponse(zkm::PZEM_DEFAULT_ADDRESS, pzemBuf, pzemFill, r) == zkm::PZEM_OK) {
      energy.feedPzem(r.energyWh, now - lastPzemOkMs);
      lastPzemOkMs = now;
      pzemMisses = 0;
      pulsesSeen = false;
      m.source = zkm::MEASURE_PZEM;
      m.powerW = (r.powerDeciW + 5) / 10;
      m.voltageMv = r.voltageMv;
      m.currentMa = r.currentMa;
      m.powerFactor = r.powerFactorPermille;
    } else if (pzemMisses < 255) {
      pzemMisses++;
    }
  }
  if (!pzemWaiting && now - pzemAskedMs >= PZEM_POLL_MS) {
    uint8_t req[zkm::PZEM_REQUEST_LEN];
    zkm::pzemReadRequest(zkm::PZEM_DEFAULT_ADDRESS, req);
    pzemFill = 0;
    pzemSerial.write(req, sizeof(req));
    pzemAskedMs = now;
    pzemWaiting = true;
  }
}

static void countPulses(uint32_t now) {
  noInterrupts();
  uint16_t n = cfPulses;
  cfPulses = 0;
  interrupts();
  uint32_t wh = pulses.onPulses(n, now);
  if (pzemMisses >= PZEM_MISSES_BEFORE_PULSES) {
    // The PZEM is silent: the CF pulses are the meter now. Counting them drops the PZEM baseline,
    // so its register is not added twice when it answers again; with no pulses yet (just after a
    // restore) the baseline stays and the PZEM's catch-up since the checkpoint still counts.
    if (n) energy.addWh(wh);
    if (n) pulsesSeen = true;
    m.source = pulsesSeen ? zkm::MEASURE_PULSE : zkm::MEASURE_NONE;
    m.powerW = pulses.powerW();
    m.voltageMv = 0;
    m.currentMa = 0;
    m.powerFactor = 0;
  }
}

void setup() {
  for (uint8_t i = 0; i < 8; i++) pinMode(PIN_RELAY_FIRST + i, OUTPUT);
  writeRelays(relays.outputs());
  pinMode(PIN_FLAME, INPUT_PULLUP);
  pinMode(PIN_CF, INPUT_PULLUP);
  pinMode(PIN_POWER_FAIL, INPUT_PULLUP);
  // 9600 baud on purpose: SoftwareSerial (the PZEM) keeps interrupts off for a whole byte (~1 ms)
  // while it sends or receives one, and the UART holds only two received bytes; at 9600 a byte takes
  // 1.04 ms, so nothing from the ESP8266 is lost meanwhile (at 57600 a PZEM answer would drop ~150).
  Serial.begin(9600);
  pzemSerial.begin(9600);
  attachInterrupt(digitalPinToInterrupt(PIN_CF), onCfPulse, FALLING);
  zkm::Checkpoint cp;
  if (checkpoints.restore(cp)) {
    policy.restored(cp);
    // The PZEM kept counting in its own memory until the power went: accept up to one checkpoint
    // step of catch-up from it, never more (docs/firmware.md "Counter persistence").
    energy.restore(cp.energyWh, cp.sourceRaw, cp.flags & zkm::CHECKPOINT_RAW_VALID, CHECKPOINT_STEP_WH);
  }
  m.source = zkm::MEASURE_NONE;
  pzemMisses = PZEM_MISSES_BEFORE_PULSES;  // count pulses until the PZEM first answers
}

void loop() {
  uint32_t now = millis();
  if (Serial.available()) {
    while (Serial.available()) {
      if (fromEsp.push((uint8_t)Serial.read())) handleFrame();
    }
    lastRxMs = now;
    rxPending = true;
  } else if (rxPending && now - lastRxMs >= zkm::LINK_IDLE_MS) {
    while (fromEsp.idle()) handleFrame();  // the line went quiet: release frames held by a false start
    rxPending = false;
  }

  m.temperatureCenti = zkm::lm35Centi(analogRead(A0));
  m.light = zkm::permille(analogRead(A1));
  m.gas = zkm::permille(analogRead(A2));
  m.water = zkm::permille(analogRead(A3));
  uint8_t hazards = alarms.update(digitalRead(PIN_FLAME) == LOW, m.gas, m.water, now);

  if (!watchdog.nodeReachable(now)) {
    uint8_t speed = fanFallback.update(m.temperatureCenti);
    if (speed != relays.fanSpeed()) relays.setFanSpeed(speed);
    bool night = nightFallback.update(m.light);
    if (night != (bool)(relays.requested() & zkm::relayBit(zkm::RELAY_NIGHT_LIGHT))) {
      relays.command(zkm::RELAY_NIGHT_LIGHT, night ? zkm::RELAY_ON : zkm::RELAY_OFF);
    }
  }

  // Safety first: outputs follow the hazards in this same iteration, whatever the link does.
  uint8_t next = relays.apply(hazards);
  bool changed = next != outputs || hazards != m.hazards;
  if (next != outputs) writeRelays(next);
  outputs = next;
  m.hazards = hazards;

  pollPzem(now);
  countPulses(now);

  store.service();
  if (digitalRead(PIN_POWER_FAIL) == LOW) {
    if (!powerFailHandled) saveCheckpoint();  // brown-out: the last write before the lights go out
    powerFailHandled = true;
  } else {
    powerFailHandled = false;
    if (policy.due(energy.totalWh(), 0)) saveCheckpoint();
  }

  if (changed || now - lastReportMs >= REPORT_MS) {
    sendMeasurement();
    lastReportMs = now;
  }
}

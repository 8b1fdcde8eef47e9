// zkmeter firmware core: include this from a sketch.
#ifndef ZKMETER_H
#define ZKMETER_H
#include "zkm_alarm.h"
#include "zkm_checkpoint.h"
#include "zkm_crc16.h"
#include "zkm_energy.h"
#include "zkm_fallback.h"
#include "zkm_interlocks.h"
#include "zkm_interval.h"
#include "zkm_json.h"
#include "zkm_link.h"
#include "zkm_nvstore.h"
#include "zkm_pzem.h"
#include "zkm_sdm.h"
#include "zkm_source.h"
#include "zkm_relays.h"
#include "zkm_sensors.h"
#include "zkm_config.h"
#include "zkm_message.h"
#if ZKM_WITH_CRYPTO
#include "zkm_commitment.h"
#include "zkm_eip712.h"
#include "zkm_field.h"
#include "zkm_keccak.h"
#include "zkm_mqtt.h"
#include "zkm_period.h"
#include "zkm_recordlog.h"
#include "zkm_periodstore.h"
#include "zkm_engine.h"
#include "zkm_poseidon.h"
#include "zkm_signer.h"
#endif
#endif

import { html, LitElement } from 'lit'
import { ApiError, api, errorText } from '../lib/api.ts'
import { SessionController } from '../lib/session.ts'
import type { FanStepsRule, NightLightRule, RuleSet, ThermostatRule } from '../lib/types.ts'
import { type Load, load, loading, renderLoad } from './load-state.ts'
import { shared } from './styles.ts'

const toC = (centi: number) => (centi / 100).toString()
const fromC = (text: string) => Math.round(Number(text) * 100)

/**
 * Automation settings: the fan's temperature steps, the AC thermostat and the night light, edited
 * in a copy of the rule document and saved whole with PUT /api/rules. The node validates and
 * names the offending field; its message is shown as is.
 */
export class RulesEditor extends LitElement {
  static override properties = {
    data: { state: true },
    draft: { state: true },
    message: { state: true },
    error: { state: true },
    saving: { state: true },
  }
  static override styles = [shared]
  /** A read-only device sees the controls disabled (the node refuses them too: 403). */
  #session = new SessionController(this)
  declare data: Load<RuleSet>
  declare draft: RuleSet | undefined
  declare message: string
  declare error: string
  declare saving: boolean

  constructor() {
    super()
    this.data = loading()
    this.draft = undefined
    this.message = ''
    this.error = ''
    this.saving = false
  }

  override connectedCallback(): void {
    super.connectedCallback()
    void this.reload()
  }

  async reload(): Promise<void> {
    this.data = await load(() => api.rules())
    this.draft = this.data.state === 'ready' ? structuredClone(this.data.value) : undefined
  }

  #edit<R extends { id: string }>(id: string, change: (rule: R) => void): void {
    if (!this.draft) return
    const draft = structuredClone(this.draft)
    const rule = draft.rules.find((r) => r.id === id) as R | undefined
    if (!rule) return
    change(rule)
    this.draft = draft
    this.message = ''
  }

  async #save(event: Event): Promise<void> {
    event.preventDefault()
    if (!this.draft) return
    this.saving = true
    this.error = ''
    try {
      const saved = await api.replaceRules({ body: this.draft })
      if (saved && typeof saved === 'object' && Array.isArray(saved.rules)) {
        this.data = { state: 'ready', value: saved }
        this.draft = structuredClone(saved)
      } else await this.reload()
      this.message = 'Saved. The automation uses the new settings now.'
    } catch (error) {
      this.error =
        error instanceof ApiError && error.status === 409
          ? `${error.message} (press Reload to see the current settings)`
          : `Not saved: ${errorText(error)}`
    } finally {
      this.saving = false
    }
  }

  #enabled(rule: { id: string; enabled: boolean }, label: string) {
    return html`<label class="inline"><input type="checkbox" .checked=${rule.enabled}
      @change=${(e: Event) =>
        this.#edit<{ id: string; enabled: boolean }>(rule.id, (r) => {
          r.enabled = (e.target as HTMLInputElement).checked
        })} />
      ${label} automatic</label>`
  }

  #fan(rule: FanStepsRule) {
    return html`<fieldset class="card"><legend>Ceiling fan by temperature</legend>
      ${this.#enabled(rule, 'Fan')}
      <div class="row">
        ${rule.steps.map(
          (step, i) => html`<label>Speed ${step.speed} from (°C)
            <input type="number" step="0.1" inputmode="decimal" .value=${toC(step.atCenti)} aria-label="Speed ${step.speed} from (°C), ceiling fan"
              @change=${(e: Event) =>
                this.#edit<FanStepsRule>(rule.id, (r) => {
                  r.steps[i]!.atCenti = fromC((e.target as HTMLInputElement).value)
                })} /></label>`,
        )}
      </div></fieldset>`
  }

  #thermostat(rule: ThermostatRule) {
    return html`<fieldset class="card"><legend>Air conditioner thermostat</legend>
      ${this.#enabled(rule, 'AC')}
      <div class="row">
        <label>On at or above (°C)<input type="number" step="0.1" .value=${toC(rule.onAtCenti)}
          @change=${(e: Event) =>
            this.#edit<ThermostatRule>(rule.id, (r) => {
              r.onAtCenti = fromC((e.target as HTMLInputElement).value)
            })} /></label>
        <label>Off at or below (°C)<input type="number" step="0.1" .value=${toC(rule.offAtCenti)}
          @change=${(e: Event) =>
            this.#edit<ThermostatRule>(rule.id, (r) => {
              r.offAtCenti = fromC((e.target as HTMLInputElement).value)
            })} /></label>
      </div></fieldset>`
  }

  #night(rule: NightLightRule) {
    return html`<fieldset class="card"><legend>Night light</legend>
      ${this.#enabled(rule, 'Night light')}
      <div class="row">
        <label>On below light level (‰)<input type="number" min="0" max="1000" .value=${String(rule.onBelow)}
          @change=${(e: Event) =>
            this.#edit<NightLightRule>(rule.id, (r) => {
              r.onBelow = Number((e.target as HTMLInputElement).value)
            })} /></label>
        <label>Off above light level (‰)<input type="number" min="0" max="1000" .value=${String(rule.offAbove)}
          @change=${(e: Event) =>
            this.#edit<NightLightRule>(rule.id, (r) => {
              r.offAbove = Number((e.target as HTMLInputElement).value)
            })} /></label>
        <label>Only from<input type="time" .value=${rule.window?.from ?? ''}
          @change=${(e: Event) =>
            this.#edit<NightLightRule>(rule.id, (r) => {
              r.window = { from: (e.target as HTMLInputElement).value, to: r.window?.to ?? '07:00' }
            })} /></label>
        <label>until<input type="time" .value=${rule.window?.to ?? ''}
          @change=${(e: Event) =>
            this.#edit<NightLightRule>(rule.id, (r) => {
              r.window = { from: r.window?.from ?? '18:00', to: (e.target as HTMLInputElement).value }
            })} /></label>
      </div>
      <p class="small muted">Light level in thousandths of full scale; times are the household's local time.</p></fieldset>`
  }

  override render() {
    return renderLoad(
      this.data,
      () => {
        const rules = this.draft?.rules ?? []
        const known = rules.filter((r) => ['fanSteps', 'thermostat', 'nightLight'].includes(r.kind))
        return html`<form @submit=${this.#save} aria-label="Automation settings">
          ${known.length === 0 ? html`<p class="muted">No fan, AC or night-light rule is set up on this node.</p>` : ''}
          ${known.map((r) =>
            r.kind === 'fanSteps'
              ? this.#fan(r as FanStepsRule)
              : r.kind === 'thermostat'
                ? this.#thermostat(r as ThermostatRule)
                : this.#night(r as NightLightRule),
          )}
          <div class="row">
            <button type="submit" ?disabled=${this.saving || known.length === 0 || this.#session.readOnly}>${this.saving ? 'Saving…' : 'Save settings'}</button>
            <button type="button" class="secondary" @click=${() => void this.reload()}>Reload</button>
          </div>
          ${this.message ? html`<p class="ok" role="status">${this.message}</p>` : ''}
          ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
        </form>`
      },
      () => void this.reload(),
      'automation settings',
    )
  }
}
customElements.define('zkm-rules-editor', RulesEditor)

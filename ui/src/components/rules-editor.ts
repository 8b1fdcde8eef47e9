import { html, LitElement } from 'lit'
import { ApiError, api, errorText } from '../lib/api.ts'
import { SessionController } from '../lib/session.ts'
import type { FanStepsRule, NightLightRule, RuleSet, ThermostatRule } from '../lib/types.ts'
import { type Load, load, loading, renderLoad } from './load-state.ts'
import { shared } from './styles.ts'

const toC = (centi: number) => (centi / 100).toString()

/**
 * A number typed into a field, or undefined when it is empty or not a number: an emptied field is
 * a mistake to point at, never 0 (an empty temperature once saved as 0 °C).
 */
export function numberIn(text: string): number | undefined {
  if (text.trim() === '') return undefined
  const value = Number(text)
  return Number.isFinite(value) ? value : undefined
}

/** Unsaved edits survive leaving the Home view (the editor is rebuilt when it comes back). */
let kept: { draft: RuleSet; revision: number } | undefined

/** The question asked before unsaved edits would be lost. */
export const LEAVE_QUESTION = 'Your automation settings have unsaved changes. Leave without saving them?'

/**
 * Automation settings: the fan's temperature steps, the AC thermostat, the night light and how long
 * a setting made by hand holds, edited in a copy of the rule document and saved whole with PUT
 * /api/rules. An empty or non-numeric field is refused here (and by the node); the node's own
 * message ("Rule 1, step 2, temperature: …") is shown as is. Unsaved edits are guarded: leaving the
 * page asks first (in-app links and beforeunload), and switching views keeps them.
 */
export class RulesEditor extends LitElement {
  static override properties = {
    data: { state: true },
    draft: { state: true },
    message: { state: true },
    error: { state: true },
    saving: { state: true },
    invalid: { state: true },
  }
  static override styles = [shared]
  /** A read-only device sees the controls disabled (the node refuses them too: 403). */
  #session = new SessionController(this)
  declare data: Load<RuleSet>
  declare draft: RuleSet | undefined
  declare message: string
  declare error: string
  declare saving: boolean
  /** Fields whose text is not a number, by field key: the message to show and to refuse saving with. */
  declare invalid: Record<string, string>

  constructor() {
    super()
    this.data = loading()
    this.draft = undefined
    this.message = ''
    this.error = ''
    this.saving = false
    this.invalid = {}
  }

  /** True while the draft differs from what the node has (or a field holds an unsaved mistake). */
  get dirty(): boolean {
    if (Object.keys(this.invalid).length > 0) return true
    if (this.data.state !== 'ready' || this.draft === undefined) return false
    return JSON.stringify(this.draft) !== JSON.stringify(this.data.value)
  }

  #beforeUnload = (event: BeforeUnloadEvent) => {
    if (!this.dirty) return
    event.preventDefault()
    // Older browsers show the prompt only when returnValue is set.
    event.returnValue = LEAVE_QUESTION
  }

  /** An in-app link (the navigation's "#/bills") while edits are unsaved: ask, and stay if told to. */
  #onClick = (event: MouseEvent) => {
    if (!this.dirty || event.defaultPrevented) return
    const link = event
      .composedPath()
      .find(
        (node): node is HTMLAnchorElement => node instanceof HTMLAnchorElement && node.hasAttribute('href'),
      )
    const href = link?.getAttribute('href') ?? ''
    if (!href.startsWith('#/') || href === location.hash) return
    if (!confirm(LEAVE_QUESTION)) event.preventDefault()
    else this.#discard()
  }

  override connectedCallback(): void {
    super.connectedCallback()
    addEventListener('beforeunload', this.#beforeUnload)
    addEventListener('click', this.#onClick, { capture: true })
    void this.reload({ keepEdits: true })
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    removeEventListener('beforeunload', this.#beforeUnload)
    removeEventListener('click', this.#onClick, { capture: true })
    // Left by the browser's back button, or with the edits confirmed kept: they wait for the return.
    if (this.dirty && this.draft && this.data.state === 'ready') {
      kept = { draft: structuredClone(this.draft), revision: this.data.value.revision }
    }
  }

  #discard(): void {
    kept = undefined
    this.invalid = {}
    if (this.data.state === 'ready') this.draft = structuredClone(this.data.value)
  }

  async reload(options: { keepEdits?: boolean } = {}): Promise<void> {
    this.data = await load(() => api.rules())
    this.invalid = {}
    this.draft = this.data.state === 'ready' ? structuredClone(this.data.value) : undefined
    // Edits kept from an earlier visit, on the revision they were made against: shown again.
    if (options.keepEdits && kept && this.data.state === 'ready') {
      if (kept.revision === this.data.value.revision) {
        this.draft = kept.draft
        this.message = 'Your unsaved changes are back: save them or press Reload to drop them.'
      }
    }
    kept = undefined
  }

  /** A number field's change: applied when it is a number, else remembered as the field's mistake. */
  #number(key: string, label: string, text: string, apply: (value: number) => void): void {
    const value = numberIn(text)
    const invalid = { ...this.invalid }
    if (value === undefined) {
      invalid[key] = `${label}: ${text.trim() === '' ? 'enter a number (it is empty)' : 'enter a number'}`
      this.invalid = invalid
      this.message = ''
      return
    }
    delete invalid[key]
    this.invalid = invalid
    apply(value)
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
    const mistakes = Object.values(this.invalid)
    if (mistakes.length > 0) {
      this.error = `Not saved: ${mistakes.join('; ')}.`
      this.renderRoot.querySelector<HTMLInputElement>('input[aria-invalid="true"]')?.focus()
      return
    }
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
            <input type="number" step="0.1" inputmode="decimal" required .value=${toC(step.atCenti)} aria-label="Speed ${step.speed} from (°C), ceiling fan"
              aria-invalid=${this.#isInvalid(`${rule.id}.steps.${i}`)}
              @change=${(e: Event) =>
                this.#number(
                  `${rule.id}.steps.${i}`,
                  `Fan speed ${step.speed} from`,
                  (e.target as HTMLInputElement).value,
                  (c) =>
                    this.#edit<FanStepsRule>(rule.id, (r) => {
                      r.steps[i]!.atCenti = Math.round(c * 100)
                    }),
                )} /></label>`,
        )}
      </div></fieldset>`
  }

  #thermostat(rule: ThermostatRule) {
    return html`<fieldset class="card"><legend>Air conditioner thermostat</legend>
      ${this.#enabled(rule, 'AC')}
      <div class="row">
        <label>On at or above (°C)<input type="number" step="0.1" required .value=${toC(rule.onAtCenti)}
          aria-invalid=${this.#isInvalid(`${rule.id}.on`)}
          @change=${(e: Event) =>
            this.#number(`${rule.id}.on`, 'AC on at or above', (e.target as HTMLInputElement).value, (c) =>
              this.#edit<ThermostatRule>(rule.id, (r) => {
                r.onAtCenti = Math.round(c * 100)
              }),
            )} /></label>
        <label>Off at or below (°C)<input type="number" step="0.1" required .value=${toC(rule.offAtCenti)}
          aria-invalid=${this.#isInvalid(`${rule.id}.off`)}
          @change=${(e: Event) =>
            this.#number(`${rule.id}.off`, 'AC off at or below', (e.target as HTMLInputElement).value, (c) =>
              this.#edit<ThermostatRule>(rule.id, (r) => {
                r.offAtCenti = Math.round(c * 100)
              }),
            )} /></label>
      </div></fieldset>`
  }

  #night(rule: NightLightRule) {
    return html`<fieldset class="card"><legend>Night light</legend>
      ${this.#enabled(rule, 'Night light')}
      <div class="row">
        <label>On below light level (‰)<input type="number" min="0" max="1000" required .value=${String(rule.onBelow)}
          aria-invalid=${this.#isInvalid(`${rule.id}.onBelow`)}
          @change=${(e: Event) =>
            this.#number(
              `${rule.id}.onBelow`,
              'Night light on below',
              (e.target as HTMLInputElement).value,
              (v) =>
                this.#edit<NightLightRule>(rule.id, (r) => {
                  r.onBelow = v
                }),
            )} /></label>
        <label>Off above light level (‰)<input type="number" min="0" max="1000" required .value=${String(rule.offAbove)}
          aria-invalid=${this.#isInvalid(`${rule.id}.offAbove`)}
          @change=${(e: Event) =>
            this.#number(
              `${rule.id}.offAbove`,
              'Night light off above',
              (e.target as HTMLInputElement).value,
              (v) =>
                this.#edit<NightLightRule>(rule.id, (r) => {
                  r.offAbove = v
                }),
            )} /></label>
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

  #isInvalid(key: string): 'true' | 'false' {
    return key in this.invalid ? 'true' : 'false'
  }

  /** How long a switch or fan speed set by hand holds against the rules (the rule set's overrideS). */
  #manualHold(draft: RuleSet) {
    return html`<fieldset class="card"><legend>Settings made by hand</legend>
      <label>Hold against the rules for (minutes)<input type="number" min="1" max="10080" step="1" required
        .value=${String(Math.round(draft.overrideS / 60))} aria-invalid=${this.#isInvalid('overrideS')}
        @change=${(e: Event) =>
          this.#number(
            'overrideS',
            'Hold settings made by hand for',
            (e.target as HTMLInputElement).value,
            (minutes) => {
              if (!this.draft) return
              this.draft = { ...structuredClone(this.draft), overrideS: Math.round(minutes * 60) }
              this.message = ''
            },
          )} /></label>
      <p class="small muted">A switch or fan speed you set yourself stays as you set it for this long; then the rules above may change it again.</p></fieldset>`
  }

  override render() {
    return renderLoad(
      this.data,
      () => {
        const rules = this.draft?.rules ?? []
        const known = rules.filter((r) => ['fanSteps', 'thermostat', 'nightLight'].includes(r.kind))
        return html`<form @submit=${this.#save} aria-label="Automation settings" novalidate>
          ${known.length === 0 ? html`<p class="muted">No fan, AC or night-light rule is set up on this node.</p>` : ''}
          ${known.map((r) =>
            r.kind === 'fanSteps'
              ? this.#fan(r as FanStepsRule)
              : r.kind === 'thermostat'
                ? this.#thermostat(r as ThermostatRule)
                : this.#night(r as NightLightRule),
          )}
          ${this.draft ? this.#manualHold(this.draft) : ''}
          <div class="row">
            <button type="submit" ?disabled=${this.saving || known.length === 0 || this.#session.readOnly}>${this.saving ? 'Saving…' : 'Save settings'}</button>
            <button type="button" class="secondary" @click=${() => void this.reload()}>Reload</button>
            ${this.dirty ? html`<span class="small muted" data-unsaved>Unsaved changes</span>` : ''}
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

import { css } from 'lit'

/**
 * Shared look of every view: cards, buttons, forms, tables; readable on a 360 px phone. Colours
 * come from the page's variables (ui/index.html), at WCAG AA in light and dark: a filled control's
 * text is its `--on-*` colour, never a fixed white (the dark scheme's fills are light).
 *
 * No template may carry a style="" attribute: the UI's CSP forbids them (style-src-attr 'none'),
 * so layout helpers such as .grow live here.
 */
export const shared = css`
  :host {
    display: block;
    color: var(--fg);
  }
  /* Each view's one h1 (the shell focuses it on a view switch): the size an h2 had. */
  h1 {
    font-size: 1.35rem;
    margin: 0 0 0.75rem;
  }
  h1:focus {
    outline: none;
  }
  h1:focus-visible {
    outline: 3px solid var(--focus);
    outline-offset: 2px;
  }
  h2 {
    font-size: 1.25rem;
    margin: 0 0 0.75rem;
  }
  h3 {
    font-size: 1.05rem;
    margin: 0 0 0.5rem;
  }
  .card {
    background: var(--card);
    border: 1px solid var(--line);
    border-radius: 10px;
    padding: 1rem;
    margin: 0 0 1rem;
    min-width: 0;
  }
  .grid {
    display: grid;
    gap: 0.75rem;
    grid-template-columns: repeat(auto-fill, minmax(150px, 1fr));
  }
  .muted {
    color: var(--muted);
  }
  .small {
    font-size: 0.85rem;
  }
  .mono {
    font-family: ui-monospace, 'DejaVu Sans Mono', monospace;
    font-size: 0.85rem;
    overflow-wrap: anywhere;
  }
  button,
  select,
  input,
  textarea {
    font: inherit;
  }
  button {
    background: var(--accent);
    color: var(--on-accent);
    border: 0;
    border-radius: 6px;
    padding: 0.5rem 0.9rem;
    cursor: pointer;
    min-height: 2.5rem;
  }
  button.secondary {
    background: transparent;
    color: var(--accent);
    border: 1px solid var(--accent);
  }
  button:disabled {
    opacity: 0.55;
    cursor: not-allowed;
  }
  button:focus-visible,
  input:focus-visible,
  select:focus-visible,
  a:focus-visible,
  [tabindex]:focus-visible {
    outline: 3px solid var(--focus);
    outline-offset: 2px;
  }
  input,
  select,
  textarea {
    /* 3:1 against the card (WCAG 1.4.11): a field's edge is how it is found. */
    border: 1px solid var(--control);
    border-radius: 6px;
    padding: 0.45rem 0.5rem;
    background: var(--bg);
    color: var(--fg);
    min-width: 0;
  }
  label {
    display: flex;
    flex-direction: column;
    gap: 0.25rem;
    font-size: 0.9rem;
  }
  .row {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
    align-items: flex-end;
  }
  .error {
    color: var(--danger);
    background: var(--danger-bg);
    border-radius: 6px;
    padding: 0.5rem 0.75rem;
  }
  .ok {
    color: var(--ok);
  }
  table {
    width: 100%;
    border-collapse: collapse;
    font-size: 0.9rem;
  }
  th,
  td {
    text-align: left;
    padding: 0.35rem 0.4rem;
    border-bottom: 1px solid var(--line);
    vertical-align: top;
  }
  .table-wrap {
    overflow-x: auto;
  }
  /*
   * On a phone the key column (the first: period, meter, alarm…) stays in view while the rest
   * scrolls sideways. A scrolling .table-wrap is a focusable region (tabindex="0", role="region"
   * and a name), so a keyboard can scroll it too.
   */
  .table-wrap th:first-child,
  .table-wrap td:first-child {
    position: sticky;
    left: 0;
    z-index: 1;
    background: var(--card);
  }
  /* On a phone the key column wraps (a period is 3 short lines), leaving room for the next one. */
  @media (max-width: 40rem) {
    .table-wrap th:first-child,
    .table-wrap td:first-child {
      white-space: normal;
      min-width: 6rem;
      max-width: 9rem;
    }
  }
  /* Tables scroll sideways inside their card on a phone rather than wrapping hashes letter by letter. */
  .table-wrap td,
  .table-wrap th {
    white-space: nowrap;
  }
  .badge {
    display: inline-block;
    border-radius: 999px;
    padding: 0.1rem 0.6rem;
    font-size: 0.8rem;
    background: var(--line);
    /* Full-strength text: inside muted text (a bill's labels) the muted colour is 4.3:1 on --line. */
    color: var(--fg);
  }
  .badge.paid {
    background: var(--ok-bg);
    color: var(--ok);
  }
  .badge.verified {
    background: var(--info-bg);
    color: var(--accent);
  }
  .badge.failed {
    background: var(--danger-bg);
    color: var(--danger);
  }
  /* Layout helpers for templates (the CSP allows no style attribute). */
  .grow {
    flex: 1 1 14rem;
  }
  .grow-wide {
    flex: 1 1 16rem;
  }
  label.inline {
    flex-direction: row;
    align-items: center;
  }
  .table-wrap td.wrap {
    white-space: normal;
    min-width: 12rem;
  }
  .icon {
    vertical-align: -3px;
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }
`

import { css } from 'lit'

/** Shared look of every view: cards, buttons, forms, tables; readable on a 360 px phone. */
export const shared = css`
  :host {
    display: block;
    color: var(--fg);
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
    color: #fff;
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
    border: 1px solid var(--line);
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
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }
`

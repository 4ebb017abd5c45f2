/**
 * A message's data as a pilot reads it: one line per field ("amount 25", "currency EUR"), nested
 * values as compact JSON. Text only (Preact escapes it): a payload can never become markup.
 */
export function MessageData({ data }: { data: unknown }) {
  if (data === undefined) return <p class="muted">The ledger does not keep this message’s data.</p>;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return (
      <p data-testid="message-data">
        <code>{JSON.stringify(data)}</code>
      </p>
    );
  }
  const fields = Object.entries(data as Record<string, unknown>);
  if (fields.length === 0) return <p class="muted">No data.</p>;
  return (
    <dl class="facts message-data" data-testid="message-data">
      {fields.map(([key, value]) => (
        <div key={key} class="data-field" data-testid="data-field" data-field={key}>
          <dt>{key}</dt>
          <dd>{typeof value === 'string' ? value : JSON.stringify(value)}</dd>
        </div>
      ))}
    </dl>
  );
}

import { usd } from '../model/format.js';

/**
 * Money spent, flagged when some of it is unknown: a model with no price is counted at $0, so a
 * total that includes one is a lower bound (`$0.0031 + unpriced`) and one made only of them is
 * `unknown`, never `$0`. The flag names the models, as `spine show` does.
 */
export function Cost({ usd: value, unpriced }: { usd: number; unpriced?: readonly string[] | undefined }) {
  if (!unpriced?.length) return <span data-testid="cost">{usd(value)}</span>;
  const models = unpriced.join(', ');
  return (
    <span data-testid="cost" data-unpriced="true">
      {value ? `${usd(value)} + ` : ''}
      <span className="badge unpriced" data-testid="unpriced" title={`No price for ${models}: those calls are counted at $0 and their real cost is unknown. Add them to the price table (SPINE_PRICES).`}>
        {value ? 'unpriced' : 'cost unknown'}: {models}
      </span>
    </span>
  );
}

// Node module resolve hook, registered by nodeModulesWithoutSource.ts (see there for why).
export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  if (
    context.conditions.includes('source') &&
    result.url.includes('/node_modules/') &&
    /\.[cm]?tsx?$/.test(result.url)
  ) {
    return nextResolve(specifier, { ...context, conditions: context.conditions.filter((c) => c !== 'source') });
  }
  return result;
}

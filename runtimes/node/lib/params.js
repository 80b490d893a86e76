// Query parameters (SPEC section 4): digits only, a range per name, no duplicates.

export class ParamError extends Error {}

export const RANGES = Object.freeze({
  ms: [0, 10_000],
  n: [0, 100_000_000],
  iter: [1, 1_000_000],
  offload: [0, 1],
});

const DIGITS = /^[0-9]+$/;

// The integer value of `name` in `params` (a URLSearchParams), or `fallback` when the
// parameter is absent; a missing parameter without fallback is an error.
export function intParam(params, name, fallback) {
  const values = params.getAll(name);
  if (values.length === 0) {
    if (fallback === undefined) throw new ParamError(`missing required parameter '${name}'`);
    return fallback;
  }
  if (values.length > 1) throw new ParamError(`parameter '${name}' is given more than once`);
  const [min, max] = RANGES[name];
  // Number() alone would accept '', ' 7', '+7', '1e3', '0x1f' and '7.0', hence the
  // digits-only check first. After it, Number() is safe even on huge strings: it is
  // exact up to 2^53 and monotonic beyond, so 99999999999999999999999 becomes a large
  // double (or Infinity) that compares as out of range, never a wrapped value.
  const value = Number(values[0]);
  if (!DIGITS.test(values[0]) || value < min || value > max) {
    const allowed = max === 1 ? '0 or 1' : `an integer from ${min} to ${max}`;
    throw new ParamError(`parameter '${name}' must be ${allowed}`);
  }
  return value;
}

export function offloadParam(params) {
  return intParam(params, 'offload', 0) === 1;
}

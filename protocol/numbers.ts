// Numbers as the protocol accepts them. JSON cannot say NaN, but 1e999 parses to Infinity, and
// a negative count fed to a Prometheus counter throws: every number an agent sends is bounded.
import Type from 'typebox';

/** any finite number */
export const Finite = (o: { minimum?: number } = {}) => Type.Number({ minimum: -Number.MAX_VALUE, maximum: Number.MAX_VALUE, ...o });
/** a count or a counter: finite and never negative */
export const Count = () => Finite({ minimum: 0 });
/** an integer that stays exact in JavaScript (sequence numbers, epochs, ids) */
export const SafeInt = (o: { minimum?: number } = {}) => Type.Integer({ minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER, ...o });

/**
 * Cosine and sine of whole degrees from a Taylor series in plain double arithmetic. Math.sin
 * and Math.cos are not required to be correctly rounded, so engines may differ in the last
 * bit; +, -, * and / are exact IEEE operations everywhere, so these tables are identical on
 * every machine and no rotated edge can move a pixel.
 */
const COS: number[] = [];
const SIN: number[] = [];

function taylorSin(x: number): number {
  // x in [-pi, pi]; 14 terms are far below double precision there.
  let term = x;
  let sum = x;
  for (let k = 1; k < 14; k++) {
    term = (-term * x * x) / ((2 * k) * (2 * k + 1));
    sum += term;
  }
  return sum;
}

for (let d = 0; d < 360; d++) {
  const wrap = (deg: number): number => (((deg + 180) % 360) + 360) % 360 - 180;
  SIN.push(taylorSin((wrap(d) * 3.141592653589793) / 180));
  COS.push(taylorSin((wrap(d + 90) * 3.141592653589793) / 180));
}

/** cos(deg degrees) for an integer deg (any sign). */
export function cosDeg(deg: number): number {
  return COS[((deg % 360) + 360) % 360]!;
}

/** sin(deg degrees) for an integer deg (any sign). */
export function sinDeg(deg: number): number {
  return SIN[((deg % 360) + 360) % 360]!;
}

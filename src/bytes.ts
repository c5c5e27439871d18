const binaryUnits = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** A byte count in the largest binary unit it reaches: 1536 -> { value: 1.5, unit: 'KiB' }. */
export function binaryScale(bytes: number): { value: number; unit: (typeof binaryUnits)[number] } {
  let value = bytes;
  let index = 0;
  while (value >= 1024 && index < binaryUnits.length - 1) {
    value /= 1024;
    index += 1;
  }
  return { value, unit: binaryUnits[index]! };
}

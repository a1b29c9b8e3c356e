import type { RealEnv } from '../real-incus.test.ts'
export function deployTests(_env: RealEnv): void {}

import type { ValidateFunction } from "ajv";
/** validate is the precompiled Compose schema validator (allErrors). */
declare const validate: ValidateFunction;
export default validate;

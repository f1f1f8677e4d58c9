/** `node --import` this before the CLI to make the user method of user-method.ts available to it. */
import { registerUserMethod } from './user-method.js';

registerUserMethod();

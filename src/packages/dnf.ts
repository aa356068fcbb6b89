/** dnf: the commands of yum (yum.ts), under its own name. */
import { yumStyle } from './yum';

export const dnf = yumStyle('dnf', 'dnf config-manager --set-disabled');

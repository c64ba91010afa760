/**
 * Injected faults: queued errors answered instead of running an operation,
 * in the calling service's own error shape.
 */
import { ApiError, type ServiceName } from './protocol.js';

/** An error to answer, as given to `failNext`. */
export interface FaultError {
  code: string;
  message: string;
  status?: number;
}

interface Fault {
  operation: string;
  remaining: number;
  /** `undefined` means "the service's throttling error", resolved per request. */
  error: FaultError | undefined;
}

/**
 * The throttling error each service really answers: Route 53 and ELBv2 send
 * `Throttling`, the JSON services `ThrottlingException`; all with HTTP 400,
 * and all in the SDK's list of throttling codes, so its retry strategy
 * retries them with the throttling back-off.
 */
export function throttlingError(service: ServiceName): ApiError {
  if (service === 'route53' || service === 'elbv2')
    return new ApiError('Throttling', 'Rate exceeded', 400);
  return new ApiError('ThrottlingException', 'Rate exceeded', 400);
}

/** Queue of faults, consumed first-in first-out per operation. */
export class Faults {
  private faults: Fault[] = [];

  throttle(operation: string, count: number): void {
    if (count > 0) this.faults.push({ operation, remaining: count, error: undefined });
  }

  failNext(operation: string, error: FaultError, count = 1): void {
    if (count > 0) this.faults.push({ operation, remaining: count, error });
  }

  clear(): void {
    this.faults = [];
  }

  /** The error to answer for this call, if one is queued; consumes one use. */
  take(service: ServiceName, operation: string): ApiError | undefined {
    const fault = this.faults.find((f) => f.operation === operation);
    if (!fault) return undefined;
    fault.remaining--;
    if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
    if (!fault.error) return throttlingError(service);
    return new ApiError(fault.error.code, fault.error.message, fault.error.status ?? 400);
  }
}

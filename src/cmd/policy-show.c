/* SPDX-License-Identifier: GPL-2.0-or-later */
/* podsec policy show */
#include "cmd.h"

PS_CMD(cmd_policy_show)
{
        ps_err(ctx, "policy show: not implemented yet");
        return 3;
}

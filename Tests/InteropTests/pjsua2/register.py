"""Registers one PJSUA2 account through an Edgeway edge over TLS with RFC 5626 outbound, stays
registered for a while, and prints what it saw. Usage: register.py EDGE_HOST:PORT USER PASSWORD CA_FILE SECONDS"""
import sys
import time

import pjsua2 as pj

edge, user, password, ca, seconds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])


class Account(pj.Account):
    def __init__(self):
        super().__init__()
        self.codes = []

    def onRegState(self, prm):
        self.codes.append(prm.code)
        print(f"registration {prm.code} {prm.reason} expires {prm.expiration}", flush=True)


endpoint = pj.Endpoint()
endpoint.libCreate()
config = pj.EpConfig()
config.logConfig.level = 4
config.logConfig.consoleLevel = 4
config.uaConfig.threadCnt = 0
config.uaConfig.mainThreadOnly = True
endpoint.libInit(config)
tls = pj.TransportConfig()
tls.port = 0
tls.tlsConfig.CaListFile = ca
tls.tlsConfig.verifyServer = True
endpoint.transportCreate(pj.PJSIP_TRANSPORT_TLS, tls)
endpoint.libStart()

account_config = pj.AccountConfig()
account_config.idUri = f"sip:{user}@example.com"
account_config.regConfig.registrarUri = "sip:example.com;transport=tls"
account_config.sipConfig.proxies.append(f"sip:{edge};transport=tls;lr")
account_config.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", user, 0, password))
account_config.natConfig.sipOutboundUse = 1
account_config.natConfig.sipOutboundRegId = "1"
account_config.natConfig.udpKaIntervalSec = 5
account = Account()
account.create(account_config)

deadline = time.time() + seconds
while time.time() < deadline:
    endpoint.libHandleEvents(50)
print(f"final registration codes {account.codes}", flush=True)
account.shutdown()
endpoint.libDestroy()
